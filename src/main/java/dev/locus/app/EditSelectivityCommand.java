package dev.locus.app;

import dev.locus.editing.ContextPrefixes;
import dev.locus.editing.KeyStatistics;
import dev.locus.editing.UpdateSelectivity;
import dev.locus.facts.Fact;
import dev.locus.model.LanguageModel;
import dev.locus.testbed.Testbed;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToDoubleFunction;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The diagnosis of ROME's neighbourhood bleed on the testbed: how much of the update each token receives, by layer and ridge. */
@Command(name = "edit-selectivity", mixinStandardHelpOptions = true,
        description = "Where ROME's rank-one update acts (s = uᵀk per token; 1 at k*), by layer and covariance ridge, "
                + "averaged over testbed facts: the subject of the prompt and its paraphrases should receive ~1, neighbours ~0.")
public class EditSelectivityCommand implements Runnable {
    @Option(names = "--from", defaultValue = "0", description = "index of the first testbed fact")
    int from;

    @Option(names = "--facts", defaultValue = "100", description = "number of facts")
    int count;

    @Option(names = "--layers", split = ",", description = "layers (default: all)")
    int[] layers;

    @Option(names = "--ridges", split = ",", defaultValue = "0,0.001,0.01,0.1,1",
            description = "ridges added to C, as multiples of its mean diagonal")
    double[] ridges;

    @Option(names = "--prefixes", defaultValue = "10", description = "context prefixes of each length (5 and 10 tokens) besides "
            + "the empty one: 10 as published, 0 for the empty prefix alone")
    int prefixCount;

    @Option(names = "--cache", defaultValue = "${sys:user.home}/.cache/locus", description = "key-statistics cache directory")
    Path cache;

    @Override
    public void run() {
        try (LanguageModel lm = Testbed.GPT2.load()) {
            List<Fact> all = Testbed.GPT2.facts();
            List<Fact> facts = all.subList(from, Math.min(all.size(), from + count));
            int[] at = layers != null ? layers : IntStream.range(0, lm.dimensions().layers()).toArray();
            KeyStatistics statistics = Testbed.GPT2.keyStatistics(lm, cache, System.err::println);
            List<String> prefixes = ContextPrefixes.sample(lm, 0, prefixCount, 5, 10);
            System.out.printf("%d facts from %d; s = uᵀk, mean over facts (|s| max: over tokens)%n", facts.size(), from);
            System.out.printf("%7s %5s %8s %8s %10s %10s %10s%n", "ridge", "layer", "prompt", "paraphr", "prompt|max", "neighb|max",
                    "neighb|last");
            for (double ridge : ridges) {
                for (int layer : at) {
                    List<UpdateSelectivity.Report> reports = new ArrayList<>();
                    for (Fact f : facts) {
                        reports.add(UpdateSelectivity.measure(lm, statistics, prefixes, f, layer, ridge));
                    }
                    System.out.printf("%7.3g %5d %8.3f %8.3f %10.3f %10.3f %10.3f%n", ridge, layer,
                            mean(reports, UpdateSelectivity.Report::prompt), mean(reports, UpdateSelectivity.Report::paraphrases),
                            mean(reports, UpdateSelectivity.Report::promptOtherMax), mean(reports, UpdateSelectivity.Report::neighbourMax),
                            mean(reports, UpdateSelectivity.Report::neighbourLast));
                }
            }
        }
    }

    private static double mean(List<UpdateSelectivity.Report> reports, ToDoubleFunction<UpdateSelectivity.Report> f) {
        return reports.stream().mapToDouble(f).filter(v -> !Double.isNaN(v)).average().orElse(Double.NaN);
    }
}
