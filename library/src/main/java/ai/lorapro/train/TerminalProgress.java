package ai.lorapro.train;

import java.io.PrintStream;

/** Redraws one progress line in place with a carriage return. */
final class TerminalProgress implements ProgressReporter {

    private final ProgressLine line;
    private final PrintStream out;
    private int lastLength;

    TerminalProgress(ProgressLine line, PrintStream out) {
        this.line = line;
        this.out = out;
    }

    @Override
    public void update(long step, double loss, double lr, double tokensPerSecond) {
        String text = line.bar(step, loss, lr, tokensPerSecond);
        // Blank out the rest of a longer previous line.
        String pad = " ".repeat(Math.max(0, lastLength - text.length()));
        out.print('\r' + text + pad);
        out.flush();
        lastLength = text.length();
    }

    @Override
    public void finish() {
        if (lastLength > 0) {
            out.println();
            lastLength = 0;
        }
    }
}
