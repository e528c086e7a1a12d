package ai.lorapro.train;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Runs a test class on one PyTorch thread ({@link TinyModels#singleThread()}) and restores the
 * previous count after it: {@code @ExtendWith(SingleThread.class)}.
 */
public final class SingleThread implements BeforeAllCallback, AfterAllCallback {

    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(SingleThread.class);

    @Override
    public void beforeAll(ExtensionContext context) {
        context.getStore(NAMESPACE).put("threads", TinyModels.singleThread());
    }

    @Override
    public void afterAll(ExtensionContext context) {
        TinyModels.restoreThreads(context.getStore(NAMESPACE).get("threads", Integer.class));
    }
}
