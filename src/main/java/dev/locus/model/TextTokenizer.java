package dev.locus.model;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * A Hugging Face tokenizer.json, used without padding or truncation.
 *
 * <p>{@link #encode} gives a text's own tokens; {@link #encodePrompt} the tokens a model is fed for it:
 * the same, after the tokens the tokenizer's post-processor puts before a text (Llama 2's {@code <s>}).
 * That prefix comes from tokenizer.json's post-processor, as the tokenizers library applies it, not
 * from tokenizer_config.json's {@code add_bos_token}: tokenizer.json is the one tokenizer file a model
 * directory must have, and LlamaTokenizerFast saves the flag into that post-processor. (Where someone
 * edited the flag alone, transformers' Llama tokenizers would follow the flag; this class does not.)
 */
public final class TextTokenizer implements AutoCloseable {
    // Any text with a token in it shows which tokens the post-processor adds before a text.
    private static final String PROBE = "a";

    private final HuggingFaceTokenizer tokenizer;
    private final long[] promptPrefix;

    private TextTokenizer(HuggingFaceTokenizer tokenizer) {
        this.tokenizer = tokenizer;
        this.promptPrefix = leadingAddedTokens(tokenizer.encode(PROBE, true, false));
    }

    public static TextTokenizer load(Path tokenizerJson) {
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new ModelLoadException("missing tokenizer file " + tokenizerJson);
        }
        try {
            return new TextTokenizer(HuggingFaceTokenizer.newInstance(tokenizerJson,
                    Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false")));
        } catch (IOException | RuntimeException e) {
            throw new ModelLoadException("cannot load tokenizer " + tokenizerJson + ": " + e.getMessage(), e);
        }
    }

    /**
     * The tokens the post-processor adds before the text. Those it adds after it (an end-of-sequence
     * token) are left out: the model is to continue a prompt, not see it end.
     */
    private static long[] leadingAddedTokens(Encoding probe) {
        long[] added = probe.getSpecialTokenMask();
        int count = 0;
        while (count < added.length && added[count] == 1) {
            count++;
        }
        return Arrays.copyOf(probe.getIds(), count);
    }

    /**
     * Token ids and the character span [start, end) of each token in {@code text}, as Java String
     * indices; [-1, -1] for a token that stands for no characters (an added BOS).
     */
    public record Tokens(long[] ids, int[] starts, int[] ends) {
        public int length() {
            return ids.length;
        }

        /** The token positions [first, last + 1) whose characters overlap [charStart, charEnd). */
        public int[] span(int charStart, int charEnd) {
            int first = -1;
            int last = -1;
            for (int i = 0; i < ids.length; i++) {
                if (starts[i] < charEnd && ends[i] > charStart) {
                    if (first < 0) {
                        first = i;
                    }
                    last = i;
                }
            }
            return first < 0 ? null : new int[] {first, last + 1};
        }
    }

    /** The text's own tokens, without special tokens. */
    public Tokens encode(String text) {
        Encoding e = tokenizer.encode(text, false, false);
        CharSpan[] spans = e.getCharTokenSpans();
        // The library counts code points; Java Strings (and so String.indexOf) count UTF-16 units.
        int[] utf16Index = utf16Indices(text);
        int[] starts = new int[spans.length];
        int[] ends = new int[spans.length];
        for (int i = 0; i < spans.length; i++) {
            // Tokens that stand for no characters keep an empty span.
            starts[i] = spans[i] == null ? -1 : utf16Index[spans[i].getStart()];
            ends[i] = spans[i] == null ? -1 : utf16Index[spans[i].getEnd()];
        }
        return new Tokens(e.getIds(), starts, ends);
    }

    /** The UTF-16 index of each code point offset 0..codePointCount of {@code text}. */
    private static int[] utf16Indices(String text) {
        int[] index = new int[text.codePointCount(0, text.length()) + 1];
        for (int cp = 0, at = 0; cp < index.length; cp++) {
            index[cp] = at;
            if (at < text.length()) {
                at += Character.charCount(text.codePointAt(at));
            }
        }
        return index;
    }

    /**
     * The tokens a model is fed for {@code text}: its own, after the prefix (BOS) the tokenizer adds;
     * the spans still index {@code text}.
     */
    public Tokens encodePrompt(String text) {
        Tokens own = encode(text);
        int n = promptPrefix.length;
        if (n == 0) {
            return own;
        }
        long[] ids = new long[n + own.length()];
        int[] starts = new int[ids.length];
        int[] ends = new int[ids.length];
        System.arraycopy(promptPrefix, 0, ids, 0, n);
        Arrays.fill(starts, 0, n, -1);
        Arrays.fill(ends, 0, n, -1);
        System.arraycopy(own.ids(), 0, ids, n, own.length());
        System.arraycopy(own.starts(), 0, starts, n, own.length());
        System.arraycopy(own.ends(), 0, ends, n, own.length());
        return new Tokens(ids, starts, ends);
    }

    /**
     * The ids of {@code continuation} as the model sees them after {@code prompt}: the tokens of
     * prompt + continuation after the prompt's own; null when the prompt's tokens are not a prefix of
     * them (its end merges with the continuation's start). SentencePiece-style tokenizers need this:
     * alone, " French" gets a dummy-prefix "▁" before "▁French" that it does not get after a prompt.
     */
    public long[] continuationIds(String prompt, String continuation) {
        long[] promptIds = encode(prompt).ids();
        long[] fullIds = encode(prompt + continuation).ids();
        // Compared without the prompt prefix (BOS): it stands before both alike.
        int n = promptIds.length;
        if (fullIds.length < n || !Arrays.equals(promptIds, 0, n, fullIds, 0, n)) {
            return null;
        }
        return Arrays.copyOfRange(fullIds, n, fullIds.length);
    }

    public String decode(long[] ids) {
        return tokenizer.decode(ids, false);
    }

    /** The text of {@code ids} without special tokens (BOS, end-of-text, padding), as generated text is read. */
    public String decodeText(long[] ids) {
        return tokenizer.decode(ids, true);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
