package dev.locus.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.locus.SharedFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.stream.LongStream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real GPT-2 and Llama 2 tokenizers against reference tokenizations made outside the project
 * (../shared/fixtures/tokenizers, see its README): ids with and without BOS, offsets as Java String
 * indices, subject token spans, targets alone and after their prompt, decoding. A byte-level BPE with
 * a BOS post-processor (as Llama 3 and others are built) is derived from GPT-2's file.
 */
class TokenizerReferenceTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void gpt2MatchesItsReference() throws Exception {
        Path dir = SharedFiles.require("fixtures/tokenizers/gpt2");
        Checks checks = checkAgainstReference(dir, true, "djl_ids");
        checks.report("gpt2");
    }

    @Test
    void llama2MatchesItsReference() throws Exception {
        Path dir = SharedFiles.require("fixtures/tokenizers/llama2");
        Checks checks = checkAgainstReference(dir, false, "djl_ids_with_special");
        try (LanguageModel lm = withTokenizer(dir.resolve("tokenizer.json"))) {
            // "about  " + " 14" merges the spaces into one "▁▁▁"; after "about" the target is ▁ 1 4.
            checks.equal("trailing spaces", "target after a prompt ending in spaces",
                    List.of(29871L, 29896L, 29946L), list(lm.targetIds("The population was about  ", "14")));
        }
        checks.report("llama2");
    }

    /** GPT-2's tokens with a BOS post-processor: the same tokens, after BOS, spans shifted by one; no EOS after a prompt. */
    @Test
    void byteLevelBpeWithBosPostProcessorShiftsEverythingByOne(@TempDir Path tmp) throws Exception {
        Path gpt2 = SharedFiles.require("fixtures/tokenizers/gpt2");
        JsonNode reference = JSON.readTree(gpt2.resolve("reference.json").toFile());
        for (String template : List.of("<|endoftext|> $A", "<|endoftext|> $A <|endoftext|>")) {
            Path file = tmp.resolve(template.length() + ".json");
            writeWithTemplate(gpt2.resolve("tokenizer.json"), template, file);
            Checks checks = new Checks();
            try (TextTokenizer tokenizer = TextTokenizer.load(file)) {
                for (JsonNode c : reference.get("cases")) {
                    checks.startCase();
                    String name = c.get("name").asText();
                    String text = c.get("text").asText();
                    TextTokenizer.Tokens prompt = tokenizer.encodePrompt(text);
                    checks.equal(name, "ids with BOS", prepend(50256, ids(c.get("ids"))), list(prompt.ids()));
                    checks.equal(name, "ids without BOS", ids(c.get("ids")), list(tokenizer.encode(text).ids()));
                    checks.equal(name, "BOS span", List.of(-1, -1), List.of(prompt.starts()[0], prompt.ends()[0]));
                    if (c.hasNonNull("subject")) {
                        int[] expected = ints(c.get("subject_token_span"));
                        checks.equal(name, "subject span", List.of(expected[0] + 1, expected[1] + 1),
                                boxed(subjectSpan(prompt, text, c.get("subject").asText())));
                        JsonNode target = c.get("target");
                        checks.equal(name, "target in context", nullableIds(target.get("ids_in_context")),
                                nullableList(tokenizer.continuationIds(text, target.get("text").asText())));
                    }
                }
            }
            checks.report("gpt2 with post-processor '" + template + "'");
        }
    }

    /**
     * Every check of reference.json's cases on the tokenizer.json beside it, and its prompts with literal
     * special-token text against their {@code specialTextIds}; with {@code targetAloneInContext} also that
     * a target tokenized alone is tokenized as after its prompt (no dummy prefix).
     */
    private static Checks checkAgainstReference(Path dir, boolean targetAloneInContext, String specialTextIds)
            throws Exception {
        JsonNode reference = JSON.readTree(dir.resolve("reference.json").toFile());
        Checks checks = new Checks();
        try (LanguageModel lm = withTokenizer(dir.resolve("tokenizer.json"))) {
            TextTokenizer tokenizer = lm.tokenizer();
            checks.equal("tokenizer_config.json", "BOS added iff add_bos_token", expectedPromptPrefix(dir),
                    list(tokenizer.encodePrompt("").ids()));
            for (JsonNode c : reference.get("cases")) {
                checks.startCase();
                checkCase(c, lm, targetAloneInContext, checks);
            }
            for (JsonNode c : reference.get("special_token_text")) {
                String text = c.get("text").asText();
                checks.equal(text, "literal special token text", ids(c.get(specialTextIds)), list(lm.tokenize(text).ids()));
            }
        }
        assertEquals(32, checks.cases, "cases in " + dir);
        return checks;
    }

    private static void checkCase(JsonNode c, LanguageModel lm, boolean targetAloneInContext, Checks checks) {
        TextTokenizer tokenizer = lm.tokenizer();
        String name = c.get("name").asText();
        String text = c.get("text").asText();
        TextTokenizer.Tokens own = tokenizer.encode(text);
        TextTokenizer.Tokens prompt = lm.tokenize(text);
        checks.equal(name, "ids", ids(c.get("ids")), list(own.ids()));
        checks.equal(name, "ids with special tokens", ids(c.get("ids_with_special")), list(prompt.ids()));
        checks.equal(name, "offsets (UTF-16)", spans(c.get("offsets_utf16")), spans(own));
        checks.equal(name, "offsets with special tokens (UTF-16)",
                addedTokensEmpty(spans(c.get("offsets_with_special_utf16")), prompt.length() - own.length()), spans(prompt));
        checks.equal(name, "decoded", c.get("decoded").asText(), tokenizer.decode(own.ids()));
        if (!c.hasNonNull("subject")) {
            return;
        }
        String subject = c.get("subject").asText();
        checks.equal(name, "subject's String index", c.get("subject_char_span_utf16").get(0).asInt(), text.indexOf(subject));
        checks.equal(name, "subject span", boxed(ints(c.get("subject_token_span"))), boxed(subjectSpan(own, text, subject)));
        checks.equal(name, "subject span with special tokens", boxed(ints(c.get("subject_token_span_with_special"))),
                boxed(subjectSpan(prompt, text, subject)));

        JsonNode target = c.get("target");
        String targetText = target.get("text").asText();
        checks.equal(name, "target alone", ids(target.get("ids_standalone")), list(tokenizer.encode(targetText).ids()));
        checks.equal(name, "prompt + target with special tokens", ids(target.get("full_ids_with_special")),
                list(lm.tokenize(target.get("full_text").asText()).ids()));
        List<Long> inContext = nullableIds(target.get("ids_in_context"));
        checks.equal(name, "target in context", inContext, nullableList(tokenizer.continuationIds(text, targetText)));
        // LanguageModel's targets are " " + target.strip(): where that is the reference's target, they are its in-context ids.
        if (inContext != null && targetText.equals(" " + targetText.strip())) {
            checks.equal(name, "LanguageModel target after the prompt", inContext, list(lm.targetIds(text, targetText)));
        }
        long[] scored = concat(own.ids(), lm.targetIds(text, targetText));
        checks.equal(name, "prompt and target ids decode to prompt + \" \" + target",
                text + " " + targetText.strip(), lm.decode(scored));
        if (targetAloneInContext) {
            checks.equal(name, "target alone = target after the prompt",
                    list(lm.targetIds(targetText)), list(lm.targetIds(text, targetText)));
        }
    }

    /** A language model that only tokenizes: a tiny random GPT-2 behind a real tokenizer. */
    private static LanguageModel withTokenizer(Path tokenizerJson) {
        return new LanguageModel(TinyModels.random(1), TextTokenizer.load(tokenizerJson), "tokenizer-only");
    }

    /** tokenizer_config.json's word on BOS, which the tokenizer.json beside it must agree with. */
    private static List<Long> expectedPromptPrefix(Path dir) throws Exception {
        JsonNode config = JSON.readTree(dir.resolve("tokenizer_config.json").toFile());
        if (!config.path("add_bos_token").asBoolean()) {
            return List.of();
        }
        String bos = config.get("bos_token").asText();
        JsonNode added = JSON.readTree(dir.resolve("tokenizer.json").toFile()).get("added_tokens");
        return StreamSupport.stream(added.spliterator(), false)
                .filter(t -> t.get("content").asText().equals(bos))
                .map(t -> t.get("id").asLong())
                .toList();
    }

    private static void writeWithTemplate(Path tokenizerJson, String template, Path out) throws Exception {
        ObjectNode root = (ObjectNode) JSON.readTree(tokenizerJson.toFile());
        ArrayNode single = JSON.createArrayNode();
        for (String part : template.split(" ")) {
            single.add(part.equals("$A") ? sequence("A", 0) : JSON.createObjectNode()
                    .set("SpecialToken", JSON.createObjectNode().put("id", part).put("type_id", 0)));
        }
        ObjectNode templating = JSON.createObjectNode().put("type", "TemplateProcessing");
        templating.set("single", single);
        templating.set("pair", single.deepCopy().add(sequence("B", 1)));
        templating.putObject("special_tokens").putObject("<|endoftext|>").put("id", "<|endoftext|>")
                .<ObjectNode>set("ids", JSON.createArrayNode().add(50256))
                .set("tokens", JSON.createArrayNode().add("<|endoftext|>"));
        // Llama 3's layout: the byte-level offsets step, then the template.
        ObjectNode sequence = JSON.createObjectNode().put("type", "Sequence");
        sequence.withArray("processors").add(root.get("post_processor")).add(templating);
        root.set("post_processor", sequence);
        Files.writeString(out, JSON.writeValueAsString(root));
    }

    private static ObjectNode sequence(String id, int typeId) {
        return JSON.createObjectNode().set("Sequence", JSON.createObjectNode().put("id", id).put("type_id", typeId));
    }

    private static int[] subjectSpan(TextTokenizer.Tokens tokens, String text, String subject) {
        int at = text.indexOf(subject);
        return tokens.span(at, at + subject.length());
    }

    /** The reference gives added tokens [0, 0]; TextTokenizer an empty span off the text, [-1, -1]. */
    private static List<List<Integer>> addedTokensEmpty(List<List<Integer>> spans, int added) {
        List<List<Integer>> out = new ArrayList<>(spans);
        for (int i = 0; i < added; i++) {
            assertEquals(List.of(0, 0), out.get(i), "an added token's reference span");
            out.set(i, List.of(-1, -1));
        }
        return out;
    }

    private static List<List<Integer>> spans(TextTokenizer.Tokens tokens) {
        List<List<Integer>> out = new ArrayList<>();
        for (int i = 0; i < tokens.length(); i++) {
            out.add(List.of(tokens.starts()[i], tokens.ends()[i]));
        }
        return out;
    }

    private static List<List<Integer>> spans(JsonNode pairs) {
        List<List<Integer>> out = new ArrayList<>();
        pairs.forEach(p -> out.add(List.of(p.get(0).asInt(), p.get(1).asInt())));
        return out;
    }

    private static List<Long> ids(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false).map(JsonNode::asLong).toList();
    }

    private static List<Long> nullableIds(JsonNode array) {
        return array == null || array.isNull() ? null : ids(array);
    }

    private static int[] ints(JsonNode pair) {
        return new int[] {pair.get(0).asInt(), pair.get(1).asInt()};
    }

    private static List<Integer> boxed(int[] values) {
        return values == null ? null : Arrays.stream(values).boxed().toList();
    }

    private static List<Long> list(long[] ids) {
        return LongStream.of(ids).boxed().toList();
    }

    private static List<Long> nullableList(long[] ids) {
        return ids == null ? null : list(ids);
    }

    private static List<Long> prepend(long id, List<Long> ids) {
        List<Long> out = new ArrayList<>(List.of(id));
        out.addAll(ids);
        return out;
    }

    private static long[] concat(long[] a, long[] b) {
        long[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** Counts checks and collects every failure, so one run shows all of them. */
    private static final class Checks {
        private final List<String> failures = new ArrayList<>();
        private int cases;
        private int checks;

        void startCase() {
            cases++;
        }

        void equal(String where, String what, Object expected, Object actual) {
            checks++;
            if (!Objects.equals(expected, actual)) {
                failures.add(where + ": " + what + ": expected " + expected + " but was " + actual);
            }
        }

        void report(String tokenizer) {
            System.out.printf("%s: %d cases, %d of %d checks passed%n", tokenizer, cases, checks - failures.size(), checks);
            assertTrue(failures.isEmpty(), tokenizer + ": " + failures.size() + " failed:\n" + String.join("\n", failures));
        }
    }
}
