package dev.locus.stream;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Checks Locus's events against their JSON Schemas ({@code schemas/*.schema.json}, loaded from the
 * classpath copies as {@link dev.locus.facts.FactIntake} loads the fact schemas): facts, results
 * (trace, edit, skipped), dead letters and stats snapshots. Plain library code, no Kafka.
 *
 * <p>A record on {@code locus.results} is checked against {@link #RESULTS}, which picks the schema
 * its {@code "type"} names, so its errors are that schema's rather than a mix of all three.
 *
 * <p>Schemas are loaded once, when the class is; the methods are safe to call from any thread.
 */
public final class EventSchemas {
    public static final String FACT = "fact.schema.json";
    public static final String COUNTERFACT = "counterfact.schema.json";
    public static final String KNOWN_FACT = "known-fact.schema.json";
    public static final String TRACE_RESULT = "trace-result.schema.json";
    public static final String EDIT_RESULT = "edit-result.schema.json";
    public static final String SKIPPED_FACT = "skipped-fact.schema.json";
    /** Any record on {@code locus.results}: validated against the schema of its {@code "type"}. */
    public static final String RESULTS = "results.schema.json";
    public static final String DEAD_LETTER = "dead-letter.schema.json";
    public static final String STATS_SNAPSHOT = "stats-snapshot.schema.json";
    public static final String MODEL_ANNOUNCEMENT = "model-announcement.schema.json";
    public static final String COMPARISON = "comparison.schema.json";

    /** The schema of each result type. */
    public static final Map<String, String> RESULT_TYPES = Map.of(
            "trace", TRACE_RESULT,
            "edit", EDIT_RESULT,
            "skipped", SKIPPED_FACT);

    /** As strict as {@code FactIntake}: a duplicate key or trailing content is not valid JSON. */
    private static final ObjectMapper READER = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private static final Map<String, Schema> SCHEMAS = load(
            FACT, COUNTERFACT, KNOWN_FACT, TRACE_RESULT, EDIT_RESULT, SKIPPED_FACT, RESULTS, DEAD_LETTER, STATS_SNAPSHOT, MODEL_ANNOUNCEMENT,
            COMPARISON);

    private EventSchemas() {}

    /** The schema of a fact in the form intake read it in ({@link dev.locus.facts.FactIntake.Format}). */
    public static String forFactFormat(String format) {
        return switch (format) {
            case dev.locus.facts.FactIntake.Format.LOCUS -> FACT;
            case dev.locus.facts.FactIntake.Format.KNOWN -> KNOWN_FACT;
            default -> COUNTERFACT;
        };
    }

    private static Map<String, Schema> load(String... files) {
        SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
        Map<String, Schema> schemas = new LinkedHashMap<>();
        for (String file : files) {
            Schema schema = registry.getSchema(SchemaLocation.of("classpath:schemas/" + file));
            // Builds every validator (and resolves every $ref) now: a broken schema fails here, and
            // nothing is left to build lazily while several threads validate.
            schema.initializeValidators();
            schemas.put(file, schema);
        }
        return Map.copyOf(schemas);
    }

    /**
     * What is wrong with {@code json} against {@code schemaFile} (one of the constants), one line
     * per error ({@code "/path/in/record: message"}); empty when it is valid. Text that is not one
     * JSON value gives a single error.
     *
     * @throws IllegalArgumentException for a schema file that is not one of the constants
     */
    public static List<String> errors(String schemaFile, String json) {
        JsonNode node;
        try {
            node = READER.readTree(json);
        } catch (JsonProcessingException e) {
            schema(schemaFile); // an unknown schema is the caller's bug, whatever the input
            return List.of("not JSON: " + e.getOriginalMessage());
        }
        return errors(schemaFile, node);
    }

    /** As {@link #errors(String, String)}, for a record already parsed. */
    public static List<String> errors(String schemaFile, JsonNode node) {
        Schema schema = schema(schemaFile);
        if (node == null || node.isMissingNode()) {
            return List.of("no JSON value");
        }
        if (schemaFile.equals(RESULTS)) {
            String type = node.path("type").asText("");
            String resultSchema = RESULT_TYPES.get(type);
            if (resultSchema == null) {
                return List.of("/type: a result's type must be one of " + RESULT_TYPES.keySet().stream().sorted().toList()
                        + ", got " + node.path("type"));
            }
            schema = schema(resultSchema);
        }
        List<Error> found = schema.validate(node, context -> context.executionConfig(config -> config
                .locale(Locale.ROOT)
                .formatAssertionsEnabled(true))); // date-time is checked, not only annotated
        List<String> out = new ArrayList<>(found.size());
        for (Error error : found) {
            String location = error.getInstanceLocation().toString();
            out.add((location.isEmpty() ? "" : location + ": ") + error.getMessage());
        }
        return out;
    }

    /**
     * Throws when {@code json} is not valid against {@code schemaFile}.
     *
     * @throws IllegalArgumentException naming the schema (for a result, the one its type names) and listing every error
     */
    public static void requireValid(String schemaFile, String json) {
        List<String> errors = errors(schemaFile, json);
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException("not valid against " + applied(schemaFile, json) + ": " + String.join("; ", errors)
                    + "\n" + abbreviate(json));
        }
    }

    /** The schema a record was checked against: for a result, the one its type names (where it names one). */
    private static String applied(String schemaFile, String json) {
        if (!schemaFile.equals(RESULTS)) {
            return schemaFile;
        }
        try {
            String resultSchema = RESULT_TYPES.get(READER.readTree(json).path("type").asText(""));
            return resultSchema == null ? schemaFile : resultSchema;
        } catch (JsonProcessingException e) {
            return schemaFile;
        }
    }

    private static Schema schema(String schemaFile) {
        Schema schema = SCHEMAS.get(schemaFile);
        if (schema == null) {
            throw new IllegalArgumentException("no event schema " + schemaFile + "; known: " + SCHEMAS.keySet().stream().sorted().toList());
        }
        return schema;
    }

    private static String abbreviate(String json) {
        return json.length() <= 2_000 ? json : json.substring(0, 2_000) + "…";
    }
}
