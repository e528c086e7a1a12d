package ai.lorapro.train;

import ai.lorapro.data.batch.Example;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * A SHA-256 over the token ids and labels of the training examples, in order; a resumed run
 * refuses data whose fingerprint differs from the checkpoint's.
 */
public final class DatasetFingerprint {

    private DatasetFingerprint() {}

    /** The hex fingerprint of {@code examples}. */
    public static String of(List<Example> examples) {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
        for (Example example : examples) {
            long[] ids = example.inputIds();
            long[] labels = example.labels();
            ByteBuffer buffer = ByteBuffer.allocate(8 + 16 * ids.length);
            buffer.putLong(ids.length);
            for (int i = 0; i < ids.length; i++) {
                buffer.putLong(ids[i]).putLong(labels[i]);
            }
            digest.update(buffer.array());
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
