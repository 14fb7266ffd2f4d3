package dev.locus.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header naming each
 * tensor's dtype, shape and byte range, then the raw little-endian data. Read here directly so
 * every error can name the file and the tensor. Tensors are converted to float32 on load.
 */
public final class SafeTensors {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SafeTensors() {}

    /** A stored tensor: its dtype, shape, and where its bytes lie in the file (absolute offset and length). */
    public record Entry(String dtype, long[] shape, long offset, long length) {
        public long count() {
            return Arrays.stream(shape).reduce(1, Math::multiplyExact);
        }
    }

    /** Reads every tensor of one file into {@code manager} (float32), keyed by its stored name. */
    public static Map<String, NDArray> read(Path file, NDManager manager) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            for (Map.Entry<String, Entry> e : entries(file, ch).entrySet()) {
                out.put(e.getKey(), readTensor(ch, e.getValue(), manager));
            }
        } catch (IOException e) {
            throw new ModelLoadException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return out;
    }

    /** The header of one file: every tensor's entry by its stored name, in stored order. */
    public static Map<String, Entry> entries(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return entries(file, ch);
        } catch (IOException e) {
            throw new ModelLoadException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static Map<String, Entry> entries(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 8) {
            throw new ModelLoadException(file + ": not a safetensors file (only " + size + " bytes)");
        }
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, lenBuf, 0);
        long headerLen = lenBuf.flip().getLong();
        if (headerLen <= 0 || headerLen > size - 8 || headerLen > 100_000_000) {
            throw new ModelLoadException(file + ": corrupt safetensors header length " + headerLen);
        }
        ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
        readFully(ch, headerBuf, 8);
        JsonNode header;
        try {
            header = JSON.readTree(new String(headerBuf.array(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new ModelLoadException(file + ": corrupt safetensors header: " + e.getMessage(), e);
        }
        long dataStart = 8 + headerLen;
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getKey().equals("__metadata__")) {
                entries.put(e.getKey(), entry(file, dataStart, size, e.getKey(), e.getValue()));
            }
        }
        return entries;
    }

    private static Entry entry(Path file, long dataStart, long size, String name, JsonNode spec) {
        String dtype = spec.path("dtype").asText();
        JsonNode shapeNode = spec.path("shape");
        JsonNode offsets = spec.path("data_offsets");
        long[] dims = new long[shapeNode.size()];
        long count = 1;
        for (int i = 0; i < dims.length; i++) {
            dims[i] = shapeNode.get(i).asLong();
            count *= dims[i];
        }
        int width = switch (dtype) {
            case "F32" -> 4;
            case "F16", "BF16" -> 2;
            case "F64" -> 8;
            default -> throw new ModelLoadException(file + ": tensor " + name + " has unsupported dtype '" + dtype + "'");
        };
        long begin = offsets.path(0).asLong(-1);
        long end = offsets.path(1).asLong(-1);
        if (begin < 0 || end < begin || dataStart + end > size || end - begin != count * width) {
            throw new ModelLoadException(file + ": tensor " + name + " has inconsistent data_offsets "
                    + offsets + " for shape " + shapeNode + " " + dtype + " (file is truncated or corrupt)");
        }
        return new Entry(dtype, dims, dataStart + begin, end - begin);
    }

    private static NDArray readTensor(FileChannel ch, Entry entry, NDManager manager) throws IOException {
        ByteBuffer raw = ch.map(FileChannel.MapMode.READ_ONLY, entry.offset(), entry.length()).order(ByteOrder.LITTLE_ENDIAN);
        Shape shape = new Shape(entry.shape());
        if (entry.dtype().equals("F32")) {
            // The mapping is read-only and may be unmapped later: copy into memory torch owns.
            try (NDArray mapped = manager.create(raw, shape, DataType.FLOAT32)) {
                return mapped.duplicate();
            }
        }
        float[] values = new float[Math.toIntExact(entry.count())];
        for (int i = 0; i < values.length; i++) {
            values[i] = switch (entry.dtype()) {
                case "F16" -> halfToFloat(raw.getShort());
                case "BF16" -> Float.intBitsToFloat((raw.getShort() & 0xffff) << 16);
                default -> (float) raw.getDouble();
            };
        }
        return manager.create(values, shape);
    }

    /**
     * Replaces the values of tensor {@code name} of {@code file} in place, converted to its stored dtype
     * (F16 and BF16 rounded to nearest, ties to even). The header and every other byte stay as they are,
     * so the file still loads wherever it did. {@code shape} must be the stored shape.
     */
    public static void overwrite(Path file, String name, long[] shape, float[] values) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            Entry entry = entries(file, ch).get(name);
            if (entry == null) {
                throw new IllegalArgumentException(file + " has no tensor " + name);
            }
            if (!Arrays.equals(entry.shape(), shape) || values.length != entry.count()) {
                throw new IllegalArgumentException(file + ": tensor " + name + " is stored with shape " + Arrays.toString(entry.shape())
                        + ", the replacement has shape " + Arrays.toString(shape) + " and " + values.length + " values");
            }
            ByteBuffer bytes = ByteBuffer.allocate(Math.toIntExact(entry.length())).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : values) {
                switch (entry.dtype()) {
                    case "F32" -> bytes.putFloat(v);
                    case "F16" -> bytes.putShort(floatToHalf(v));
                    case "BF16" -> bytes.putShort(floatToBfloat16(v));
                    default -> bytes.putDouble(v);
                }
            }
            bytes.flip();
            while (bytes.hasRemaining()) {
                ch.write(bytes, entry.offset() + bytes.position());
            }
        }
    }

    /** IEEE 754 binary16 to float (Java 17 has no Float.float16ToFloat). */
    static float halfToFloat(short half) {
        int exponent = (half >>> 10) & 0x1f;
        int mantissa = half & 0x3ff;
        float magnitude = exponent == 0 ? Math.scalb((float) mantissa, -24)
                : exponent == 31 ? (mantissa == 0 ? Float.POSITIVE_INFINITY : Float.NaN)
                : Math.scalb(1f + mantissa / 1024f, exponent - 15);
        return (half & 0x8000) != 0 ? -magnitude : magnitude;
    }

    /** Float to IEEE 754 binary16, rounded to nearest with ties to even; too large for it: infinity; NaN stays NaN. */
    static short floatToHalf(float value) {
        int bits = Float.floatToRawIntBits(value);
        int sign = (bits >>> 16) & 0x8000;
        int magnitude = bits & 0x7fffffff;
        if (magnitude > 0x7f800000) {
            return (short) (sign | 0x7e00);
        }
        if (magnitude >= 0x477ff000) { // 65520, halfway between the largest half (65504) and 2^16, rounds to even: infinity
            return (short) (sign | 0x7c00);
        }
        if (magnitude < 0x38800000) {
            // Below 2^-14 halves are subnormal, steps of 2^-24: scaling by 2^24 is exact in double, rint rounds ties to even,
            // and a value that rounds up to 2^-14 gives 0x400, the smallest normal half.
            return (short) (sign | (int) Math.rint(Math.abs((double) value) * 0x1p24));
        }
        // Rebias the exponent (127 to 15) and round away 13 mantissa bits; a carry moves into the exponent as it should.
        int rounded = magnitude + 0xfff + ((magnitude >>> 13) & 1);
        return (short) (sign | ((rounded - 0x38000000) >>> 13));
    }

    /** Float to bfloat16 (its upper 16 bits), rounded to nearest with ties to even; NaN stays NaN. */
    static short floatToBfloat16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x40);
        }
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            if (ch.read(buf, pos + buf.position()) < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }

    /** Writes float32 tensors in the given order. */
    public static void write(Path file, Map<String, NDArray> tensors) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        long offset = 0;
        for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
            NDArray a = e.getValue();
            if (a.getDataType() != DataType.FLOAT32) {
                throw new IllegalArgumentException("tensor " + e.getKey() + " is " + a.getDataType() + ", expected float32");
            }
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", "F32");
            var shape = t.putArray("shape");
            for (long d : a.getShape().getShape()) {
                shape.add(d);
            }
            long bytes = a.size() * 4;
            t.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] headerBytes = JSON.writeValueAsBytes(header);
        int padded = (headerBytes.length + 7) / 8 * 8; // keeps the data 8-byte aligned, as the format recommends
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
            out.write(headerBytes);
            out.write(" ".repeat(padded - headerBytes.length).getBytes(StandardCharsets.US_ASCII));
            for (NDArray a : tensors.values()) {
                ByteBuffer data = a.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
                byte[] bytes = new byte[data.remaining()];
                data.get(bytes);
                out.write(bytes);
            }
        }
    }
}
