package dev.locus.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A checkpoint written back with replaced tensors: stored names found through prefixes and shards, everything else copied as it was. */
class EditedCheckpointTest {
    private static final String EDITED = "h.1.mlp.c_proj.weight";

    @TempDir
    Path tmp;

    @Test
    void patchesOnlyTheShardHoldingTheTensorUnderItsPrefixedName() throws IOException {
        Path source = tmp.resolve("source");
        Path out = tmp.resolve("out");
        Files.createDirectories(source.resolve("original"));
        Files.writeString(source.resolve("original/notes.txt"), "kept as it is");
        try (Gpt2 model = TinyModels.random(6); NDManager m = model.manager().newSubManager()) {
            TestCheckpoints.writeSharded(source, model, m);
            NDArray replacement = model.weights().get(EDITED).add(0.5f);

            EditedCheckpoint.Written written = EditedCheckpoint.write(source, out, Map.of(EDITED, replacement));

            Path shard = Stream.of("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors").map(out::resolve)
                    .filter(f -> SafeTensors.entries(f).containsKey("transformer." + EDITED)).findFirst().orElseThrow();
            assertEquals(Map.of(shard, List.of("transformer." + EDITED)), written.patched());
            assertEquals(5, written.files()); // config, index, two shards, notes
            for (String file : List.of("config.json", "model.safetensors.index.json", "original/notes.txt",
                    "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors")) {
                boolean identical = Files.mismatch(source.resolve(file), out.resolve(file)) == -1;
                assertEquals(!out.resolve(file).equals(shard), identical, file);
            }
            try (Gpt2 loaded = Gpt2.load(out, Device.cpu())) {
                for (String name : model.weights().names()) {
                    NDArray expected = name.equals(EDITED) ? replacement : model.weights().get(name);
                    assertArrayEquals(expected.toFloatArray(), loaded.weights().get(name).toFloatArray(), name);
                }
            }
        }
    }

    @Test
    void refusesNamesMatchingNoneOrSeveralStoredTensorsOrAnotherShapeBeforeWritingAnything() throws IOException {
        Path source = tmp.resolve("source");
        Files.createDirectories(source);
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            SafeTensors.write(source.resolve("model.safetensors"), Map.of("a.x", m.zeros(new Shape(2)),
                    "b.x", m.zeros(new Shape(2)), "y", m.zeros(new Shape(3))));
            Path out = tmp.resolve("out");
            for (Map.Entry<String, String> edit : Map.of("x", "all match x", "z", "no stored tensor", "y", "shape").entrySet()) {
                var e = assertThrows(IllegalArgumentException.class,
                        () -> EditedCheckpoint.write(source, out, Map.of(edit.getKey(), m.zeros(new Shape(2)))));
                assertTrue(e.getMessage().contains(edit.getValue()), e.getMessage());
                assertFalse(Files.exists(out));
            }
        }
    }

    @Test
    void refusesTheSourceItselfAPlaceInsideItAndANonEmptyDirectory() throws IOException {
        Path source = Files.createDirectories(tmp.resolve("source"));
        Files.writeString(source.resolve("config.json"), "{}");
        assertThrows(IllegalArgumentException.class, () -> EditedCheckpoint.checkTarget(source, source));
        assertThrows(IllegalArgumentException.class, () -> EditedCheckpoint.checkTarget(source, source.resolve("edited")));
        assertThrows(IllegalArgumentException.class, () -> EditedCheckpoint.checkTarget(source, source.resolve("config.json")));
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        EditedCheckpoint.checkTarget(source, empty);
        EditedCheckpoint.checkTarget(source, tmp.resolve("new"));
        Files.writeString(empty.resolve("something"), "");
        assertThrows(IllegalArgumentException.class, () -> EditedCheckpoint.checkTarget(source, empty));
        assertThrows(IllegalArgumentException.class, () -> EditedCheckpoint.checkTarget(tmp.resolve("missing"), tmp.resolve("new")));
    }
}
