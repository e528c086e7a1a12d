package ai.lorapro.train;

import ai.djl.pytorch.jni.JniUtils;

import java.util.concurrent.Callable;

/**
 * PyTorch's autograd switch, which is per thread: DJL's gradient collector turns it on for the
 * thread that opens it only, so passes recorded on another thread turn it on for themselves.
 */
final class GradMode {

    private GradMode() {}

    /** Runs {@code work} with autograd recording on this thread, then restores the previous mode. */
    static <T> T enabled(Callable<T> work) throws Exception {
        boolean previous = JniUtils.isGradMode();
        JniUtils.setGradMode(true);
        try {
            return work.call();
        } finally {
            JniUtils.setGradMode(previous);
        }
    }
}
