package dev.locus.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Overwriting one tensor of a half-precision file in place, and the conversions to F16 and BF16 it rounds with. */
class SafeTensorsTest {
    @TempDir
    Path tmp;

    @Test
    void everyHalfConvertsBackToItselfAndMidpointsRoundToEven() {
        for (int h = 0; h < 0x10000; h++) {
            float value = SafeTensors.halfToFloat((short) h);
            if (!Float.isNaN(value)) {
                assertEquals((short) h, SafeTensors.floatToHalf(value), "half 0x" + Integer.toHexString(h));
            }
        }
        for (int h = 0; h < 0x7bff; h++) { // positive finite halves and the next one up
            float low = SafeTensors.halfToFloat((short) h);
            float high = SafeTensors.halfToFloat((short) (h + 1));
            float midpoint = (low + high) / 2; // at most 12 significant bits: exact in float
            short even = (short) ((h & 1) == 0 ? h : h + 1);
            assertEquals(even, SafeTensors.floatToHalf(midpoint), "midpoint above half 0x" + Integer.toHexString(h));
            assertEquals((short) (h + 1), SafeTensors.floatToHalf(Math.nextUp(midpoint)));
            assertEquals((short) h, SafeTensors.floatToHalf(Math.nextDown(midpoint)));
        }
        assertEquals((short) 0x7bff, SafeTensors.floatToHalf(Math.nextDown(65520f)));
        assertEquals((short) 0x7c00, SafeTensors.floatToHalf(65520f));
        assertEquals((short) 0xfc00, SafeTensors.floatToHalf(-1e6f));
        assertTrue(Float.isNaN(SafeTensors.halfToFloat(SafeTensors.floatToHalf(Float.NaN))));
    }

    @Test
    void bfloat16KeepsTheUpperBitsRoundedToEven() {
        assertEquals((short) 0x3f80, SafeTensors.floatToBfloat16(1f));
        assertEquals((short) 0x3f80, SafeTensors.floatToBfloat16(Float.intBitsToFloat(0x3f808000))); // tie, to even (down)
        assertEquals((short) 0x3f82, SafeTensors.floatToBfloat16(Float.intBitsToFloat(0x3f818000))); // tie, to even (up)
        assertEquals((short) 0x3f81, SafeTensors.floatToBfloat16(Float.intBitsToFloat(0x3f808001)));
        assertEquals((short) 0x7f80, SafeTensors.floatToBfloat16(Float.MAX_VALUE));
        assertTrue(Float.isNaN(Float.intBitsToFloat(SafeTensors.floatToBfloat16(Float.NaN) << 16)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"F16", "BF16", "F32"})
    void overwritingOneTensorLeavesEveryOtherByteAsItWas(String dtype) throws IOException {
        float[] first = {0.5f, -1.25f, 3f, 0f, 7.75f, -0.125f};
        float[] second = {1f, 2f, -4f, 0.25f};
        Path file = halfPrecisionFile(dtype, first, second);
        byte[] before = Files.readAllBytes(file);
        SafeTensors.Entry written = SafeTensors.entries(file).get("first");

        float[] replacement = {0.1f, -3.14159f, 1e-6f, 1234.567f, -2e-3f, 65000f};
        SafeTensors.overwrite(file, "first", new long[] {2, 3}, replacement);

        byte[] after = Files.readAllBytes(file);
        assertEquals(before.length, after.length);
        int from = (int) written.offset();
        int to = (int) (written.offset() + written.length());
        assertArrayEquals(Arrays.copyOfRange(before, 0, from), Arrays.copyOfRange(after, 0, from), "header and bytes before the tensor");
        assertArrayEquals(Arrays.copyOfRange(before, to, before.length), Arrays.copyOfRange(after, to, after.length), "bytes after it");
        double relativeStep = switch (dtype) {
            case "F16" -> 0x1p-11; // half a unit in the last place of an 11-bit significand
            case "BF16" -> 0x1p-8;
            default -> 0;
        };
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Map<String, NDArray> read = SafeTensors.read(file, m);
            float[] back = read.get("first").toFloatArray();
            for (int i = 0; i < replacement.length; i++) {
                // 2^-25: half the F16 subnormal step, which bounds the rounding of 1e-6
                double bound = Math.max(Math.abs(replacement[i]) * relativeStep, dtype.equals("F16") ? 0x1p-25 : 0);
                assertTrue(Math.abs(back[i] - replacement[i]) <= bound, dtype + " value " + i + ": " + back[i] + " for " + replacement[i]);
            }
            assertArrayEquals(second, read.get("second").toFloatArray());
        }
    }

    @Test
    void aReplacementOfAnotherShapeOrAMissingNameIsRefused() throws IOException {
        Path file = halfPrecisionFile("F16", new float[6], new float[4]);
        byte[] before = Files.readAllBytes(file);
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.overwrite(file, "first", new long[] {3, 2}, new float[6]));
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.overwrite(file, "first", new long[] {2, 3}, new float[5]));
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.overwrite(file, "third", new long[] {4}, new float[4]));
        assertArrayEquals(before, Files.readAllBytes(file));
    }

    /** A file laid out as safetensors writers do: metadata, tensors "first" [2, 3] and "second" [4], the header padded to 8 bytes. */
    private Path halfPrecisionFile(String dtype, float[] first, float[] second) throws IOException {
        int width = dtype.equals("F32") ? 4 : 2;
        int firstBytes = first.length * width;
        String header = String.format("{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"first\":{\"dtype\":\"%1$s\",\"shape\":[2,3],\"data_offsets\":[0,%2$d]},"
                + "\"second\":{\"dtype\":\"%1$s\",\"shape\":[4],\"data_offsets\":[%2$d,%3$d]}}",
                dtype, firstBytes, firstBytes + second.length * width);
        String padded = header + " ".repeat((8 - header.length() % 8) % 8);
        ByteBuffer out = ByteBuffer.allocate(8 + padded.length() + firstBytes + second.length * width).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded.length()).put(padded.getBytes(StandardCharsets.US_ASCII));
        for (float[] values : new float[][] {first, second}) {
            for (float v : values) {
                switch (dtype) {
                    case "F16" -> out.putShort(SafeTensors.floatToHalf(v));
                    case "BF16" -> out.putShort(SafeTensors.floatToBfloat16(v));
                    default -> out.putFloat(v);
                }
            }
        }
        Path file = tmp.resolve(dtype + ".safetensors");
        Files.write(file, out.array());
        return file;
    }
}
