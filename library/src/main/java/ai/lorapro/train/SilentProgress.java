package ai.lorapro.train;

/** The reporter of {@link ProgressReporter#none()}: reports nothing. */
enum SilentProgress implements ProgressReporter {
    INSTANCE;

    @Override
    public void update(long step, double loss, double lr, double tokensPerSecond) {
        // nothing to report
    }

    @Override
    public void finish() {
        // nothing to end
    }
}
