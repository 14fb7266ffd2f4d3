package dev.locus.app;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.locus.editing.EditEvaluator;
import dev.locus.editing.EditResult;
import dev.locus.editing.EditWriter;
import dev.locus.editing.EditingConfig;
import dev.locus.editing.EditingMethod;
import dev.locus.editing.EditingProblem;
import dev.locus.editing.Editor;
import dev.locus.editing.KeyStatistics;
import dev.locus.facts.Fact;
import dev.locus.model.EditedCheckpoint;
import dev.locus.model.LanguageModel;
import dev.locus.model.ModelLoadException;
import dev.locus.bench.ModelOption;
import dev.locus.testbed.ModelSource;
import dev.locus.tracing.TracingSettings;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * One edit of one fact, measured, and written out as a checkpoint in the input's own Hugging Face
 * layout: every file copied, only the edited tensors' bytes changed.
 */
@Command(name = "edit", mixinStandardHelpOptions = true,
        description = "Edit one fact at one layer, print the edit's scores as one JSON line, and write the edited checkpoint: "
                + "a copy of the model directory in which only the edited tensors' bytes differ.")
public class EditCommand implements Callable<Integer> {
    @Mixin
    ModelOption model;

    @Option(names = "--fact", required = true, description = "the fact as JSON, snake_case as in facts.jsonl")
    String fact;

    @Option(names = "--method", required = true, description = "rome, memit, ft-1 or ft-5")
    String method;

    @Option(names = "--layer", required = true, description = "the layer to edit (0-indexed; MEMIT and FT-5 edit a window around it)")
    int layer;

    @Option(names = "--out", required = true, description = "directory for the edited checkpoint: new or empty")
    Path out;

    @Option(names = "--problem", defaultValue = "error_injection",
            description = "error_injection, tracing_reversal, fact_erasure, fact_amplification or fact_forcing (default: ${DEFAULT-VALUE})")
    String problem;

    @Option(names = "--config", defaultValue = "testbed", description = "testbed, gpt-j, gpt2-xl, paper-gpt-j, paper-gpt2-xl or a JSON file (default: ${DEFAULT-VALUE})")
    String config;

    @Option(names = "--corpus", description = "text file, one passage per line, for ROME's and MEMIT's key statistics "
            + "(default: the model's corpus.txt, the testbeds' training text)")
    Path corpus;

    @Option(names = "--cache", defaultValue = "${sys:user.home}/.cache/locus", description = "key-statistics cache directory")
    Path cache;

    @Option(names = "--seed", description = "seed of the context prefixes and of the subject noise (default: ${DEFAULT-VALUE}, as the service)")
    long seed = TracingSettings.defaults().seed();

    @Override
    public Integer call() {
        ModelSource source;
        Fact edited;
        EditingMethod editingMethod;
        EditingProblem editingProblem;
        EditingConfig editing;
        try {
            source = model.source();
            edited = FactOption.parse(fact);
            editingMethod = EditingMethod.parse(method);
            editingProblem = EditingProblem.parse(problem);
            editing = EditingConfig.named(config);
            if (editingProblem == EditingProblem.ERROR_INJECTION && edited.targetNew() == null) {
                return fail("error_injection needs the fact's target_new");
            }
            EditedCheckpoint.checkTarget(source.directory(), out);
        } catch (ModelLoadException | IllegalArgumentException e) {
            return fail(e.getMessage());
        } catch (IOException e) {
            return fail("cannot check --out: " + e.getMessage());
        }
        try (LanguageModel lm = source.load()) {
            int layers = lm.dimensions().layers();
            if (layer < 0 || layer >= layers) {
                return fail("layer " + layer + " is outside the model's 0.." + (layers - 1));
            }
            KeyStatistics statistics = editingMethod.needsKeyStatistics()
                    ? source.keyStatistics(lm, corpus, cache, System.err::println) : null;
            Editor editor = editing.editor(editingMethod, editingProblem, lm, statistics, editing.prefixes(lm, seed));
            EditEvaluator evaluator = new EditEvaluator(lm, noiseSigma(lm, source, edited), seed);
            EditEvaluator.Setup setup = evaluator.setup(edited, editingProblem);
            // evaluate applies the edit, scores it and undoes it; the edit written is applied a second time from the same
            // setup, settings and weights, so it is the same edit (every step is deterministic).
            EditResult result = evaluator.evaluate(setup, editor, layer, Double.NaN);
            if (!result.status().equals("ok")) {
                return fail("the edit failed (" + result.error() + "); nothing written");
            }
            EditedCheckpoint.Written written = EditWriter.write(lm, editor, List.of(setup.task()), layer, source.directory(), out);
            System.out.println(scores(result));
            System.err.printf("wrote %s: %d files copied from %s%n", out, written.files(), source.name());
            written.patched().forEach((file, names) -> System.err.printf("  %s: replaced %s%n", file.getFileName(), names));
            return 0;
        } catch (ModelLoadException | IllegalArgumentException e) { // InvalidFactException among them: the subject not in the prompt
            return fail(e.getMessage());
        } catch (IOException e) {
            return fail("cannot write " + out + ": " + e.getMessage());
        }
    }

    /**
     * σ of the subject noise (only tracing_reversal and fact_forcing use it) from the model's own facts, as trace does
     * without --noise-facts; a model without facts.jsonl has the edited fact's subject as its sample.
     */
    private static double noiseSigma(LanguageModel lm, ModelSource source, Fact edited) {
        List<Fact> sample = source.factsFile().isPresent() ? source.facts(null) : List.of(edited);
        return ModelSource.noiseSigma(lm, sample, TracingSettings.defaults().noiseFactor(), System.err::println);
    }

    /** The result as one JSON line, without the tracing value: this command does not trace. */
    private static String scores(EditResult result) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode node = json.valueToTree(result);
        node.remove("tracing_value");
        return json.writeValueAsString(node);
    }

    private static int fail(String message) {
        System.err.println("edit: " + message);
        return 1;
    }
}
