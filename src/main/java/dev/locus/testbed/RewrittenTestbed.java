package dev.locus.testbed;

import dev.locus.editing.EditEvaluator;
import dev.locus.editing.EditWriter;
import dev.locus.editing.EditingConfig;
import dev.locus.editing.EditingMethod;
import dev.locus.editing.EditingProblem;
import dev.locus.editing.Editor;
import dev.locus.editing.EditTask;
import dev.locus.facts.Fact;
import dev.locus.model.LanguageModel;
import dev.locus.tracing.TracingSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * A second version of a testbed that differs from the first in a known way: some of its facts rewritten to their
 * counterfactual object (error injection by ROME at {@link #LAYER}, the GPT-2 testbed's best layer, one edit after
 * another), written as a checkpoint in the testbed's own layout. Deterministic, so the same facts give the same bytes
 * and the same weights' fingerprint everywhere; what a demo of version comparison needs, in seconds.
 */
public final class RewrittenTestbed {
    public static final int LAYER = 1;

    private RewrittenTestbed() {}

    /**
     * Writes {@code testbed} with the facts {@code factIds} rewritten to {@code out} (new or empty), unless {@code out}
     * already holds a checkpoint (written before from the same inputs), which is then kept. Returns {@code out}.
     */
    public static Path write(Testbed testbed, List<String> factIds, Path out, Path cache, Consumer<String> progress) throws IOException {
        if (Files.isRegularFile(out.resolve("config.json"))) {
            return out;
        }
        Map<String, Fact> facts = testbed.facts().stream().collect(Collectors.toMap(Fact::id, Function.identity()));
        List<Fact> rewritten = factIds.stream().map(id -> {
            Fact f = facts.get(id);
            if (f == null || f.targetNew() == null) {
                throw new IllegalArgumentException("testbed " + testbed.label() + " has no fact " + id + " with a target_new to rewrite to");
            }
            return f;
        }).toList();
        ModelSource source = ModelSource.of(testbed.label());
        try (LanguageModel lm = source.load()) {
            EditingConfig config = EditingConfig.named("testbed");
            long seed = TracingSettings.defaults().seed();
            Editor rome = config.editor(EditingMethod.ROME, EditingProblem.ERROR_INJECTION, lm,
                    source.keyStatistics(lm, null, cache, progress), config.prefixes(lm, seed));
            double sigma = ModelSource.noiseSigma(lm, source.facts(null), TracingSettings.defaults().noiseFactor(), progress);
            EditEvaluator evaluator = new EditEvaluator(lm, sigma, seed);
            List<EditTask> tasks = rewritten.stream().map(f -> evaluator.setup(f, EditingProblem.ERROR_INJECTION).task()).toList();
            Files.createDirectories(out.getParent());
            EditWriter.write(lm, rome, tasks, LAYER, source.directory(), out);
        }
        progress.accept("wrote " + out + ": " + testbed.label() + " with " + factIds + " rewritten (ROME, layer " + LAYER + ")");
        return out;
    }
}
