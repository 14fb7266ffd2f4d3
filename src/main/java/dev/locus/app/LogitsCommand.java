package dev.locus.app;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.locus.model.Hooks;
import dev.locus.model.LanguageModel;
import dev.locus.model.ModelLoadException;
import dev.locus.bench.ModelOption;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The model's logits for some tokens, as JSON: how a user compares a checkpoint as Locus runs it with
 * their own framework (positions 0 .. n−1, one row, no padding, float32).
 */
@Command(name = "logits", mixinStandardHelpOptions = true,
        description = "Print the logits of the last position (or of every position with --all) for token ids or a prompt, as JSON.")
public class LogitsCommand implements Callable<Integer> {
    @Mixin
    ModelOption model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static class Input {
        @Option(names = "--ids", split = ",", description = "token ids, e.g. 1,2,3")
        long[] ids;

        @Option(names = "--prompt", description = "text, tokenized as the model is fed (BOS first where the tokenizer adds one)")
        String prompt;
    }

    @Option(names = "--all", description = "every position's logits, not only the last's")
    boolean all;

    @Override
    public Integer call() throws Exception {
        try (LanguageModel lm = model.source().load()) {
            long[] ids = input.ids != null ? input.ids : lm.tokenize(input.prompt).ids();
            int vocab = lm.dimensions().vocabSize();
            for (long id : ids) {
                if (id < 0 || id >= vocab) {
                    return fail("token id " + id + " is outside the vocabulary 0.." + (vocab - 1));
                }
            }
            if (ids.length == 0 || ids.length > lm.dimensions().contextLength()) {
                return fail(ids.length + " tokens; the model takes 1.." + lm.dimensions().contextLength());
            }
            float[] logits;
            try (NDManager m = lm.manager().newSubManager()) {
                NDArray out = lm.model().forward(m.create(ids, new Shape(1, ids.length)), Hooks.none());
                logits = out.toFloatArray();
            }
            System.out.println(new ObjectMapper().writeValueAsString(json(lm, ids, logits, vocab)));
            return 0;
        } catch (ModelLoadException e) {
            return fail(e.getMessage());
        }
    }

    private ObjectNode json(LanguageModel lm, long[] ids, float[] logits, int vocab) {
        ObjectNode out = new ObjectMapper().createObjectNode();
        out.put("model", lm.name()).put("family", lm.dimensions().family());
        ArrayNode idList = out.putArray("ids");
        Arrays.stream(ids).forEach(idList::add);
        if (all) {
            ArrayNode rows = out.putArray("logits");
            for (int t = 0; t < ids.length; t++) {
                row(rows.addArray(), logits, t * vocab, vocab);
            }
        } else {
            row(out.putArray("last_logits"), logits, (ids.length - 1) * vocab, vocab);
        }
        return out;
    }

    private static void row(ArrayNode target, float[] logits, int from, int count) {
        for (int i = from; i < from + count; i++) {
            target.add(logits[i]);
        }
    }

    private static int fail(String message) {
        System.err.println("logits: " + message);
        return 1;
    }
}
