package ai.lorapro.cli;

import ai.djl.ndarray.NDManager;
import ai.lorapro.InvalidInputException;
import ai.lorapro.data.HfTokenizer;
import ai.lorapro.data.jsonl.TextEncoder;
import ai.lorapro.models.common.Generator;
import ai.lorapro.models.llama.LlamaConfig;
import ai.lorapro.models.llama.LlamaForCausalLM;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code lorapro generate}: continues prompts greedily or with top-p sampling. */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Generate text from prompts, greedily or with top-p sampling.")
public final class GenerateCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Mixin
    private ModelOptions modelOptions;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "A prompt; repeat for several.")
    private List<String> prompts = new ArrayList<>();

    @Option(names = "--max-new-tokens", paramLabel = "N", description = "Tokens to add (default: ${DEFAULT-VALUE}).")
    private int maxNewTokens = 64;

    @Option(names = "--top-p", paramLabel = "P", description = "Sample from the top-p nucleus instead of greedy.")
    private Double topP;

    @Option(names = "--temperature", paramLabel = "T",
            description = "Sampling temperature (default: ${DEFAULT-VALUE}).")
    private double temperature = 1.0;

    @Option(names = "--seed", paramLabel = "N", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    private long seed = 42;

    @Override
    public Integer call() {
        if (maxNewTokens < 1) {
            throw new InvalidInputException("--max-new-tokens must be >= 1, got " + maxNewTokens);
        }
        if (topP != null && !(topP > 0 && topP <= 1)) {
            throw new InvalidInputException("--top-p must be in (0, 1], got " + topP);
        }
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new InvalidInputException("--temperature must be > 0, got " + temperature);
        }
        LlamaConfig config = modelOptions.config();
        try (HfTokenizer tok = modelOptions.tokenizer(config)) {
            TextEncoder encoder = ModelFiles.encoder(tok, config);
            long[][] ids = new long[prompts.size()][];
            for (int i = 0; i < ids.length; i++) {
                long[] text = encoder.encode(prompts.get(i));
                boolean bos = encoder.bosId() != TextEncoder.NONE;
                ids[i] = new long[text.length + (bos ? 1 : 0)];
                if (bos) {
                    ids[i][0] = encoder.bosId();
                }
                System.arraycopy(text, 0, ids[i], bos ? 1 : 0, text.length);
                if (ids[i].length == 0) {
                    throw new InvalidInputException("--prompt " + (i + 1) + " encodes to no token");
                }
                ModelFiles.checkGenerationLength(ids[i].length, maxNewTokens, config);
            }
            Generator.Builder builder = Generator.builder()
                    .optMaxNewTokens(maxNewTokens)
                    .optEosTokenIds(ModelFiles.eosIds(tok, config))
                    .optPadTokenId(encoder.effectivePadId());
            if (topP != null) {
                builder.optSampling(temperature, topP, seed);
            }
            try (NDManager manager = NDManager.newBaseManager(modelOptions.device())) {
                LlamaForCausalLM m = modelOptions.load(manager);
                List<long[]> outputs = Prompts.generate(builder.build(), m, manager, ids, encoder.effectivePadId());
                PrintWriter out = spec.commandLine().getOut();
                for (long[] generated : outputs) {
                    out.println(tok.decode(generated).replace("\n", "\\n"));
                }
                out.flush();
            }
        }
        return ExitCodes.OK;
    }
}
