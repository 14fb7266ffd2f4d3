package dev.locus.model;

import ai.djl.ndarray.NDArray;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A copy of a Hugging Face checkpoint directory with some tensors replaced, in the original's own
 * layout: every file is copied byte for byte, then only the replaced tensors' bytes are overwritten in
 * the copied safetensors files that hold them (same header, order, dtype and offsets). Every other
 * tensor and file is identical to the original's, so the copy loads wherever the original did.
 */
public final class EditedCheckpoint {

    /** What was written: the number of files copied, and per patched file the stored names of the tensors replaced in it. */
    public record Written(int files, Map<Path, List<String>> patched) {}

    private record Location(Path file, String storedName, SafeTensors.Entry entry) {}

    private EditedCheckpoint() {}

    /** Refuses an {@code out} that is {@code source} or inside it, or that exists and is not an empty directory. */
    public static void checkTarget(Path source, Path out) throws IOException {
        if (!Files.isDirectory(source)) {
            throw new IllegalArgumentException("the checkpoint directory " + source + " does not exist");
        }
        Path to = Files.exists(out) ? out.toRealPath() : out.toAbsolutePath().normalize();
        if (to.startsWith(source.toRealPath())) {
            throw new IllegalArgumentException("the output directory " + out + " is the checkpoint directory " + source + " or inside it");
        }
        requireNewOrEmpty(out);
    }

    /** Refuses {@code out} unless it is missing or an empty directory: nothing a user has is overwritten. */
    public static void requireNewOrEmpty(Path out) throws IOException {
        if (Files.exists(out) && !(Files.isDirectory(out) && isEmpty(out))) {
            throw new IllegalArgumentException(out + " exists and is not an empty directory");
        }
    }

    private static boolean isEmpty(Path directory) throws IOException {
        try (Stream<Path> entries = Files.list(directory)) {
            return entries.findAny().isEmpty();
        }
    }

    /**
     * Writes {@code source} to {@code out} with {@code tensors} replaced: each keyed by its name in
     * {@link Weights} (the stored name, or its end after a prefix such as GPT-2's "transformer."), its
     * values float32 in the stored layout, converted to the stored dtype. Every name is matched to exactly
     * one stored tensor of the same shape before anything is written.
     */
    public static Written write(Path source, Path out, Map<String, NDArray> tensors) throws IOException {
        checkTarget(source, out);
        Path from = source.toRealPath();
        Map<Path, Map<String, SafeTensors.Entry>> headers = new LinkedHashMap<>();
        for (Path file : Checkpoint.weightFiles(from)) {
            headers.put(file, SafeTensors.entries(file));
        }
        Map<String, Location> locations = new LinkedHashMap<>();
        tensors.forEach((name, value) -> locations.put(name, locate(headers, name, value.getShape().getShape())));
        int files = copy(from, out);
        Map<Path, List<String>> patched = new LinkedHashMap<>();
        for (Map.Entry<String, Location> e : locations.entrySet()) {
            Location at = e.getValue();
            Path copy = out.resolve(from.relativize(at.file()).toString());
            SafeTensors.overwrite(copy, at.storedName(), at.entry().shape(), tensors.get(e.getKey()).toFloatArray());
            patched.computeIfAbsent(copy, f -> new ArrayList<>()).add(at.storedName());
        }
        return new Written(files, patched);
    }

    /** The one stored tensor named {@code name} or ending in "." + {@code name}, which must have {@code shape}. */
    private static Location locate(Map<Path, Map<String, SafeTensors.Entry>> headers, String name, long[] shape) {
        List<Location> matches = new ArrayList<>();
        headers.forEach((file, entries) -> entries.forEach((stored, entry) -> {
            if (stored.equals(name) || stored.endsWith("." + name)) {
                matches.add(new Location(file, stored, entry));
            }
        }));
        if (matches.size() != 1) {
            throw new IllegalArgumentException(matches.isEmpty()
                    ? "no stored tensor is named " + name + " or ends in ." + name + " in " + headers.keySet()
                    : "stored tensors " + matches.stream().map(m -> m.file().getFileName() + ":" + m.storedName()).toList()
                            + " all match " + name + "; cannot tell which to replace");
        }
        Location at = matches.get(0);
        if (!Arrays.equals(at.entry().shape(), shape)) {
            throw new IllegalArgumentException(at.file() + ": tensor " + at.storedName() + " is stored with shape "
                    + Arrays.toString(at.entry().shape()) + ", its replacement has shape " + Arrays.toString(shape));
        }
        return at;
    }

    /** Copies every file below {@code from} to the same place below {@code out} (links followed: their contents are copied). */
    private static int copy(Path from, Path out) throws IOException {
        int files = 0;
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path path : (Iterable<Path>) walk::iterator) {
                Path target = out.resolve(from.relativize(path).toString());
                if (Files.isDirectory(path)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(path, target);
                    files++;
                }
            }
        }
        return files;
    }
}
