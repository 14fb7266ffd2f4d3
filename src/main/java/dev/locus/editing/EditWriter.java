package dev.locus.editing;

import ai.djl.ndarray.NDArray;
import dev.locus.model.EditedCheckpoint;
import dev.locus.model.LanguageModel;
import dev.locus.model.Weights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Edits written out as a checkpoint: a new model version whose weights carry them, in the source's own layout. */
public final class EditWriter {
    private EditWriter() {}

    /**
     * Applies the edit of every task at {@code layer}, each on top of the ones before (as a sequence of edits to one model
     * is made), writes {@code source} to {@code out} with every tensor they replaced ({@link EditedCheckpoint}), then
     * undoes them all, so the loaded weights are as before. Deterministic: the same model, tasks and settings write the
     * same bytes. An edit that fails leaves nothing written and the weights as they were.
     */
    public static EditedCheckpoint.Written write(LanguageModel lm, Editor editor, List<EditTask> tasks, int layer, Path source, Path out)
            throws IOException {
        Weights weights = lm.model().weights();
        Map<String, NDArray> loaded = Map.copyOf(weights.asMap());
        Deque<Editor.Applied> applied = new ArrayDeque<>();
        try {
            for (EditTask task : tasks) {
                applied.push(editor.apply(task, layer));
            }
            Map<String, NDArray> replaced = new LinkedHashMap<>();
            for (Editor.Applied edit : applied) {
                for (int l : edit.layers()) {
                    for (String name : lm.model().editSite(l).parameterNames()) {
                        // An edit swaps in new arrays for what it changes; a parameter it left alone (ROME's bias) stays as stored.
                        if (weights.get(name) != loaded.get(name)) {
                            replaced.put(name, weights.get(name));
                        }
                    }
                }
            }
            return EditedCheckpoint.write(source, out, replaced);
        } finally {
            while (!applied.isEmpty()) {
                applied.pop().close(); // the latest first: each undo restores what its edit found
            }
        }
    }
}
