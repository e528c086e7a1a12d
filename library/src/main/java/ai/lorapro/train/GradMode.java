package ai.lorapro.train;

import ai.djl.pytorch.jni.JniUtils;

import java.util.concurrent.Callable;

/**
 * PyTorch's autograd switch, which is per thread: DJL's gradient collector turns it on for the
 * thread that opens it only. A new thread starts with it on (PyTorch's default), so the replica
 * threads would record without this; it is set explicitly so that a pass records whatever the
 * thread ran before.
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
