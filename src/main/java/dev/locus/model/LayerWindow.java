package dev.locus.model;

import java.util.stream.IntStream;

/**
 * The layers [start, end) of a window of w layers around a central layer ℓ: [ℓ − ⌊w/2⌋, ℓ − ⌊w/2⌋ + w),
 * clipped at the model's ends. Tracing restores such a window; MEMIT and fine-tuning edit one.
 */
public record LayerWindow(int start, int end) {

    public LayerWindow {
        if (start < 0 || end <= start) {
            throw new IllegalArgumentException("a layer window needs 0 <= start < end, got [" + start + ", " + end + ")");
        }
    }

    public static LayerWindow around(int layer, int size, int layerCount) {
        if (size < 1) {
            throw new IllegalArgumentException("a layer window has at least 1 layer, got " + size);
        }
        int start = layer - size / 2;
        return new LayerWindow(Math.max(0, start), Math.min(layerCount, start + size));
    }

    public int size() {
        return end - start;
    }

    public int last() {
        return end - 1;
    }

    public int[] layers() {
        return IntStream.range(start, end).toArray();
    }
}
