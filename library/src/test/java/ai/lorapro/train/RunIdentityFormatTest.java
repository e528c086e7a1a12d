package ai.lorapro.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.nn.SequentialBlock;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Pins the values {@code run_identity.json} records for a configuration: a checkpoint written
 * before the settings were split into records must still resume, so every field keeps its text
 * (floats as the command line gives them, the method's id, the target list).
 */
class RunIdentityFormatTest {

    @Test
    void fieldsKeepTheirTextForTheDefaults() {
        TrainConfig config = TrainConfig.builder().setOutputDir(Path.of("out")).build();
        Map<String, String> f = fieldsButBaseModel(config);
        assertEquals(expected("lora-pro", "8", "16.0", "false", "sylvester", "all-linear", "32", "42", "2.0E-5",
                "0.0", "0.03", "0.9,0.999", "1.0E-8", "0.0", "1.0", "0.0", "4", "false"), f);
    }

    @Test
    void fieldsKeepTheirTextForGivenValues() {
        TrainConfig config = TrainConfig.builder().setOutputDir(Path.of("out"))
                .optMethod(Method.LORA_PRO_SGD).optR(4).optAlpha(8).optRsLora(true)
                .optTargetModules(List.of("q_proj", "v_proj")).optGlobalBatch(16).optMicroBatch(2).optSeed(7)
                .optLr(1e-3f).optMinLr(1e-5f).optWarmupRatio(0.1).optBetas(0.8f, 0.95f).optEps(1e-6f)
                .optWeightDecay(0.01f).optClipNorm(0).optLoraDropout(0.05f).optXMode(ai.lorapro.optim.XMode.SYMMETRY)
                .build();
        assertEquals(expected("lora-pro-sgd", "4", "8.0", "true", "symmetry", "q_proj,v_proj", "16", "7", "0.001",
                "1.0E-5", "0.1", "0.8,0.95", "1.0E-6", "0.01", "0.0", "0.05", "2", "false"), fieldsButBaseModel(config));
        Map<String, String> full = fieldsButBaseModel(config.toBuilder().optMethod(Method.FULL).build());
        assertEquals(List.of("-", "-", "-", "-"),
                List.of(full.get("r"), full.get("alpha"), full.get("rslora"), full.get("target_modules")));
    }

    private static Map<String, String> fieldsButBaseModel(TrainConfig config) {
        Map<String, String> f = new LinkedHashMap<>(RunIdentity.of(new SequentialBlock(), config, "data", 10).fields());
        f.remove("base_model");
        return f;
    }

    private static Map<String, String> expected(String method, String r, String alpha, String rslora, String xMode,
            String targets, String globalBatch, String seed, String lr, String minLr, String warmup, String betas,
            String eps, String weightDecay, String clipNorm, String dropout, String microBatch, String fp16) {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("method", method);
        f.put("r", r);
        f.put("alpha", alpha);
        f.put("rslora", rslora);
        f.put("x_mode", xMode);
        f.put("target_modules", targets);
        f.put("dataset", "data");
        f.put("global_batch", globalBatch);
        f.put("seed", seed);
        f.put("lr", lr);
        f.put("min_lr", minLr);
        f.put("warmup_ratio", warmup);
        f.put("total_steps", "10");
        f.put("betas", betas);
        f.put("eps", eps);
        f.put("weight_decay", weightDecay);
        f.put("clip_norm", clipNorm);
        f.put("lora_dropout", dropout);
        f.put("micro_batch", microBatch);
        f.put("fp16_frozen", fp16);
        return f;
    }
}
