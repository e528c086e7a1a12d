package ai.lorapro.cli;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.lorapro.InvalidInputException;
import ai.lorapro.data.HfTokenizer;
import ai.lorapro.models.Decoding;
import ai.lorapro.models.ModelArchitecture;
import ai.lorapro.models.SpecialTokens;
import ai.lorapro.tasks.TaskTokenizers;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code lorapro generate}: what the model's family means by generating from prompts (a causal LM
 * continues them, T5 decodes from them; CLIP refuses), greedily or with top-p sampling.
 */
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
        new IdleOptions(spec)
                .when(topP == null, List.of("--temperature", "--seed"), "without --top-p (decoding is greedy)")
                .print(spec.commandLine().getErr());
        ModelArchitecture config = modelOptions.config();
        try (HfTokenizer tok = modelOptions.tokenizer(config)) {
            SpecialTokens tokens = TaskTokenizers.specialTokens(tok, config);
            List<long[]> ids = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                ids.add(tok.encode(prompts.get(i), false));
                if (ids.get(i).length == 0 && tokens.bos() == SpecialTokens.NONE) {
                    throw new InvalidInputException("--prompt " + (i + 1) + " encodes to no token");
                }
                ModelFiles.checkGenerationLength(ids.get(i).length, maxNewTokens, config);
            }
            Decoding decoding = new Decoding(maxNewTokens, topP, temperature, seed);
            try (NDManager manager = NDManager.newBaseManager(modelOptions.device())) {
                Block m = modelOptions.load(config, manager);
                List<long[]> outputs = config.generate(m, manager, ids, tokens, decoding);
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
