package dev.locus.facts;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * Turns untrusted bytes (a Kafka message, an HTTP body) into a {@link Fact}, or into a rejection
 * with a stable reason code the caller can put on a dead-letter record. It never throws on bad
 * input. Four forms are accepted: Locus's own ({@code schemas/fact.schema.json}), the canonical
 * and reduced CounterFact records ({@code schemas/counterfact.schema.json}) and ROME's known facts
 * ({@code schemas/known-fact.schema.json}). CounterFact records become facts with id {@code cf-<case_id>};
 * known facts become trace-only facts ({@link Fact#traceOnly()}) with id {@code known-<known_id>} and
 * their attribute as the true object. In every form, targets lose surrounding whitespace, as Locus
 * writes them without the leading space.
 *
 * <p>Instances are immutable and safe to share between threads.
 */
public final class FactIntake {

    /**
     * The reason codes of {@link Rejected}, in the order the checks run; stable, since dead-letter
     * consumers and metrics key on them.
     */
    public static final class Reason {
        /** Over {@link Limits#maxMessageBytes()}. */
        public static final String MESSAGE_TOO_LARGE = "message_too_large";
        /** Bytes that are not well-formed UTF-8. */
        public static final String INVALID_UTF8 = "invalid_utf8";
        /** Empty, or not exactly one JSON value (duplicate keys included). */
        public static final String NOT_JSON = "not_json";
        /** JSON, but not an object of an accepted form. */
        public static final String UNKNOWN_FORMAT = "unknown_format";
        /** An accepted form's schema is violated: missing, mistyped or (Locus form) unknown fields. */
        public static final String SCHEMA = "schema";
        /** A target that is only whitespace. */
        public static final String EMPTY_TARGET = "empty_target";
        /** The prompt does not contain the subject verbatim. */
        public static final String SUBJECT_NOT_IN_PROMPT = "subject_not_in_prompt";
        /** A prompt, paraphrase or neighbourhood prompt over {@link Limits#maxPromptChars()}. */
        public static final String PROMPT_TOO_LONG = "prompt_too_long";

        private Reason() {}
    }

    /** The values of {@link Accepted#format()}: which form the fact arrived in. */
    public static final class Format {
        public static final String LOCUS = "locus";
        public static final String COUNTERFACT = "counterfact";
        public static final String COUNTERFACT_REDUCED = "counterfact-reduced";
        /** ROME's known_1000 records: trace-only facts. */
        public static final String KNOWN = "known";

        private Format() {}
    }

    /**
     * @param maxMessageBytes the largest message (or batch line) accepted, in bytes
     * @param maxPromptChars the longest prompt, paraphrase or neighbourhood prompt, in characters (code points)
     */
    public record Limits(int maxMessageBytes, int maxPromptChars) {
        public Limits {
            if (maxMessageBytes <= 0 || maxPromptChars <= 0) {
                throw new IllegalArgumentException("limits must be positive: " + maxMessageBytes + ", " + maxPromptChars);
            }
        }

        /** 64 KiB a message, 2,000 characters a prompt. */
        public static Limits defaults() {
            return new Limits(64 * 1024, 2_000);
        }
    }

    /** What became of one message. */
    public sealed interface Result permits Accepted, Rejected {}

    /**
     * A valid fact in Locus's form.
     *
     * @param models the models that should evaluate it, as given (not checked against the models a
     *     worker has); empty means every model
     * @param format one of the {@link Format} values
     */
    public record Accepted(Fact fact, List<String> models, String format) implements Result {
        public Accepted {
            models = List.copyOf(models);
        }
    }

    /**
     * A message that is not a usable fact.
     *
     * @param reason one of the {@link Reason} codes
     * @param message what is wrong, for a person
     */
    public record Rejected(String reason, String message) implements Result {}

    /** Long enough for several schema errors; short enough that a hostile key cannot bloat a dead letter. */
    private static final int MAX_REJECTION_MESSAGE_CHARS = 1_000;
    /** Schema errors quoted in a rejection; the rest are counted. */
    private static final int QUOTED_SCHEMA_ERRORS = 3;

    /**
     * A key given twice is ambiguous (Jackson would silently keep the last), and anything after the
     * object would be silently dropped; both are rejected as not JSON.
     */
    private static final ObjectMapper READER = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final ObjectMapper WRITER = new ObjectMapper();

    private final Limits limits;
    private final Schema locusSchema;
    private final Schema canonicalSchema;
    private final Schema reducedSchema;
    private final Schema knownSchema;

    public FactIntake(Limits limits) {
        this.limits = limits;
        SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
        // Each form is validated against its own definition rather than counterfact.schema.json's
        // oneOf, whose errors would mix both forms' complaints.
        this.locusSchema = load(registry, "classpath:schemas/fact.schema.json");
        this.canonicalSchema = load(registry, "classpath:schemas/counterfact.schema.json#/$defs/canonical");
        this.reducedSchema = load(registry, "classpath:schemas/counterfact.schema.json#/$defs/reduced");
        this.knownSchema = load(registry, "classpath:schemas/known-fact.schema.json");
    }

    private static Schema load(SchemaRegistry registry, String location) {
        Schema schema = registry.getSchema(SchemaLocation.of(location));
        // Validators are otherwise built on first use; doing it here fails fast on a broken schema
        // and leaves nothing lazy to race on between threads.
        schema.initializeValidators();
        return schema;
    }

    /** Checks one message: a single JSON object in UTF-8. Null or empty (a Kafka tombstone) is not JSON. */
    public Result accept(byte[] raw) {
        if (raw == null || raw.length == 0) {
            return new Rejected(Reason.NOT_JSON, "empty message");
        }
        if (raw.length > limits.maxMessageBytes()) {
            return new Rejected(Reason.MESSAGE_TOO_LARGE,
                    raw.length + " bytes; the limit is " + limits.maxMessageBytes());
        }
        CharBuffer text = CharBuffer.allocate(raw.length); // UTF-8 never decodes to more chars than bytes
        ByteBuffer bytes = ByteBuffer.wrap(raw);
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        CoderResult decoded = decoder.decode(bytes, text, true);
        if (decoded.isError()) {
            return new Rejected(Reason.INVALID_UTF8, "malformed UTF-8 at byte " + bytes.position());
        }
        decoder.flush(text);
        String json = text.flip().toString();
        // Editors on Windows put a byte-order mark in front; it is not content.
        if (json.startsWith("\uFEFF")) {
            json = json.substring(1);
        }
        if (json.isBlank()) {
            return new Rejected(Reason.NOT_JSON, "empty message");
        }
        JsonNode node;
        try {
            node = READER.readTree(json);
        } catch (JsonProcessingException e) {
            JsonLocation where = e.getLocation(); // absent when a size or nesting limit stopped the parser
            return new Rejected(Reason.NOT_JSON, truncate(e.getOriginalMessage()
                    + (where == null ? "" : " at line " + where.getLineNr() + ", column " + where.getColumnNr())));
        }
        return acceptObject(node);
    }

    /**
     * Checks a JSON-lines batch (an HTTP body): one result per non-blank line, in order, each line
     * checked as {@link #accept} checks a message, with "line N: " in front of a rejection's message.
     * Lines end at LF, with or without CR. A JSON array is not a batch: a pretty-printed array spans
     * lines, so it cannot be told apart from broken lines; send one record per line.
     */
    public List<Result> acceptLines(byte[] body) {
        List<Result> results = new ArrayList<>();
        if (body == null) {
            return results;
        }
        int lineNumber = 0;
        // Splitting the bytes (not decoded text) keeps a bad line's UTF-8 error its own; LF never
        // occurs inside a multi-byte UTF-8 sequence.
        for (int start = 0; start <= body.length; ) {
            int end = start;
            while (end < body.length && body[end] != '\n') {
                end++;
            }
            lineNumber++;
            int contentEnd = end > start && body[end - 1] == '\r' ? end - 1 : end;
            if (!isBlank(body, start, contentEnd)) {
                byte[] line = Arrays.copyOfRange(body, start, contentEnd);
                Result result = accept(line);
                results.add(result instanceof Rejected rejected
                        ? new Rejected(rejected.reason(), "line " + lineNumber + ": " + rejected.message())
                        : result);
            }
            start = end + 1;
        }
        return results;
    }

    private static boolean isBlank(byte[] bytes, int from, int to) {
        for (int i = from; i < to; i++) {
            if (bytes[i] != ' ' && bytes[i] != '\t' && bytes[i] != '\r') {
                return false;
            }
        }
        return true;
    }

    /**
     * The fact in Locus's snake_case form, valid against {@code fact.schema.json} for any fact this
     * class accepted; {@link #accept} reads it back to the same fact. A trace-only fact says so
     * ({@code trace_only}), since in Locus's form a missing target_new is an error, not a marker.
     */
    public static String json(Fact fact) {
        return json(fact, List.of());
    }

    /** As {@link #json(Fact)}, with the models that should evaluate it (none: every model). */
    public static String json(Fact fact, List<String> models) {
        ObjectNode node = WRITER.valueToTree(fact);
        if (fact.traceOnly()) {
            node.put("trace_only", true);
        }
        if (!models.isEmpty()) {
            node.set("models", WRITER.valueToTree(models));
        }
        return node.toString();
    }

    private Result acceptObject(JsonNode node) {
        if (!node.isObject()) {
            return new Rejected(Reason.UNKNOWN_FORMAT, "expected a JSON object, got " + node.getNodeType().name().toLowerCase(Locale.ROOT));
        }
        // The forms are told apart by a key only one of them has, so a broken record of a known form
        // gets that form's schema errors rather than "unknown format".
        if (node.has("requested_rewrite")) {
            return check(node, canonicalSchema, Format.COUNTERFACT, FactIntake::fromCanonical);
        }
        if (node.has("case_id")) {
            return check(node, reducedSchema, Format.COUNTERFACT_REDUCED, FactIntake::fromReduced);
        }
        if (node.has("known_id")) {
            return check(node, knownSchema, Format.KNOWN, FactIntake::fromKnown);
        }
        if (node.has("id") || node.has("target_true")) {
            return check(node, locusSchema, Format.LOCUS, FactIntake::fromLocus);
        }
        List<String> fields = new ArrayList<>();
        node.fieldNames().forEachRemaining(fields::add);
        return new Rejected(Reason.UNKNOWN_FORMAT, truncate(
                "neither a Locus fact (no id or target_true), a CounterFact record (no case_id) nor a ROME known fact (no known_id); fields: "
                        + String.join(", ", fields)));
    }

    private Result check(JsonNode node, Schema schema, String format, Function<JsonNode, Fact> normalise) {
        List<Error> errors = schema.validate(node, context -> context.executionConfig(config -> config.locale(Locale.ROOT)));
        if (!errors.isEmpty()) {
            // Naming the form read tells the sender which key made it so, when they meant another.
            return new Rejected(Reason.SCHEMA, truncate("as a " + format + " record: " + describe(errors)));
        }
        Fact fact = normalise.apply(node);
        String problem = emptyTarget(fact);
        if (problem != null) {
            return new Rejected(Reason.EMPTY_TARGET, problem);
        }
        if (!fact.prompt().contains(fact.subject())) {
            return new Rejected(Reason.SUBJECT_NOT_IN_PROMPT, truncate(
                    "subject \"" + fact.subject() + "\" does not occur in prompt \"" + fact.prompt() + "\""));
        }
        problem = tooLongPrompt(fact);
        if (problem != null) {
            return new Rejected(Reason.PROMPT_TOO_LONG, problem);
        }
        List<String> models = new ArrayList<>();
        node.path("models").forEach(model -> models.add(model.asText()));
        return new Accepted(fact, models, format);
    }

    private static String describe(List<Error> errors) {
        StringBuilder message = new StringBuilder();
        for (Error error : errors.subList(0, Math.min(QUOTED_SCHEMA_ERRORS, errors.size()))) {
            if (!message.isEmpty()) {
                message.append("; ");
            }
            String location = error.getInstanceLocation().toString();
            message.append(location.isEmpty() ? "" : location + ": ").append(error.getMessage());
        }
        if (errors.size() > QUOTED_SCHEMA_ERRORS) {
            message.append(" (and ").append(errors.size() - QUOTED_SCHEMA_ERRORS).append(" more)");
        }
        return message.toString();
    }

    /** The schemas require non-empty targets; this catches those that are only whitespace. */
    private static String emptyTarget(Fact fact) {
        if (fact.targetTrue().isEmpty()) {
            return "target_true is blank";
        }
        if (fact.targetNew() != null && fact.targetNew().isEmpty()) {
            return "target_new is blank";
        }
        for (int i = 0; i < fact.neighborhoodPrompts().size(); i++) {
            if (fact.neighborhoodPrompts().get(i).target().isEmpty()) {
                return "neighborhood_prompts[" + i + "].target is blank";
            }
        }
        return null;
    }

    private String tooLongPrompt(Fact fact) {
        String problem = tooLong("prompt", fact.prompt());
        for (int i = 0; problem == null && i < fact.paraphrasePrompts().size(); i++) {
            problem = tooLong("paraphrase_prompts[" + i + "]", fact.paraphrasePrompts().get(i));
        }
        for (int i = 0; problem == null && i < fact.neighborhoodPrompts().size(); i++) {
            problem = tooLong("neighborhood_prompts[" + i + "].prompt", fact.neighborhoodPrompts().get(i).prompt());
        }
        return problem;
    }

    private String tooLong(String field, String prompt) {
        int length = prompt.codePointCount(0, prompt.length());
        return length > limits.maxPromptChars()
                ? field + " has " + length + " characters; the limit is " + limits.maxPromptChars()
                : null;
    }

    // The normalisers run on schema-valid input only, so every field they read is present and typed.

    private static Fact fromLocus(JsonNode node) {
        List<Fact.Neighbor> neighbors = new ArrayList<>();
        node.path("neighborhood_prompts").forEach(neighbor -> neighbors.add(
                new Fact.Neighbor(neighbor.get("prompt").asText(), neighbor.get("target").asText().strip())));
        return new Fact(
                node.get("id").asText(),
                node.get("subject").asText(),
                node.get("prompt").asText(),
                node.get("target_true").asText().strip(),
                node.has("target_new") ? node.get("target_new").asText().strip() : null, // absent exactly when trace_only
                strings(node.path("paraphrase_prompts")),
                neighbors,
                textOrNull(node.get("relation_id")));
    }

    private static Fact fromCanonical(JsonNode node) {
        JsonNode rewrite = node.get("requested_rewrite");
        String subject = rewrite.get("subject").asText();
        String targetTrue = rewrite.get("target_true").get("str").asText().strip();
        // CounterFact's neighbourhood prompts are bare strings: other subjects with the same
        // relation, whose object is the edited fact's true one.
        List<Fact.Neighbor> neighbors = new ArrayList<>();
        node.path("neighborhood_prompts").forEach(prompt -> neighbors.add(new Fact.Neighbor(prompt.asText(), targetTrue)));
        return new Fact(
                caseId(node),
                subject,
                rewrite.get("prompt").asText().replace("{}", subject),
                targetTrue,
                rewrite.get("target_new").get("str").asText().strip(),
                strings(node.path("paraphrase_prompts")),
                neighbors,
                textOrNull(rewrite.get("relation_id")));
    }

    private static Fact fromReduced(JsonNode node) {
        return new Fact(
                caseId(node),
                node.get("subject").asText(),
                node.get("prompt").asText(),
                node.get("ground_truth").asText().strip(),
                node.get("target_new").asText().strip(),
                List.of(node.get("rephrase_prompt").asText()),
                List.of(new Fact.Neighbor(node.get("locality_prompt").asText(), node.get("locality_ground_truth").asText().strip())),
                null);
    }

    /** No counterfactual: the fact is traced, never edited. */
    private static Fact fromKnown(JsonNode node) {
        return new Fact(
                "known-" + node.get("known_id").bigIntegerValue(),
                node.get("subject").asText(),
                node.get("prompt").asText(),
                node.get("attribute").asText().strip(),
                null,
                List.of(),
                List.of(),
                textOrNull(node.get("relation_id")));
    }

    /** The schema's "integer" admits 7.0 too; bigIntegerValue writes both as 7. */
    private static String caseId(JsonNode node) {
        return "cf-" + node.get("case_id").bigIntegerValue();
    }

    private static List<String> strings(JsonNode array) {
        List<String> strings = new ArrayList<>();
        array.forEach(item -> strings.add(item.asText()));
        return strings;
    }

    private static String textOrNull(JsonNode node) {
        return node == null ? null : node.asText();
    }

    private static String truncate(String message) {
        return message.length() <= MAX_REJECTION_MESSAGE_CHARS
                ? message
                : message.substring(0, MAX_REJECTION_MESSAGE_CHARS) + "…";
    }
}
