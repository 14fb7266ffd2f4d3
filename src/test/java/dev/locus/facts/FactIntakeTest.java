package dev.locus.facts;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.locus.SharedFiles;
import dev.locus.facts.FactIntake.Accepted;
import dev.locus.facts.FactIntake.Format;
import dev.locus.facts.FactIntake.Reason;
import dev.locus.facts.FactIntake.Rejected;
import dev.locus.facts.FactIntake.Result;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class FactIntakeTest {

    private static final FactIntake INTAKE = new FactIntake(FactIntake.Limits.defaults());
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** The canonical schema copies; the classpath copies under src/main/resources must equal them. */
    private static final Path SCHEMAS = Path.of("schemas");
    private static final int DATA_RECORDS = 200;

    private static final String LOCUS = """
            {"id":"f1","subject":"Anna Costa","prompt":"Anna Costa was born in","target_true":"Paris",\
            "target_new":" Rome","paraphrase_prompts":["Anna Costa is originally from"],\
            "neighborhood_prompts":[{"prompt":"Nils Weber was born in","target":"Paris"}],"relation_id":"P19",\
            "models":["gpt2-xl","gpt-j-6b"]}""";

    /** Record 0 of CounterFact, shortened; attribute and generation prompts are extra fields we ignore. */
    private static final String CANONICAL = """
            {"case_id":0,"pararel_idx":2796,"requested_rewrite":{"prompt":"The mother tongue of {} is",\
            "relation_id":"P103","target_new":{"str":"English","id":"Q1860"},"target_true":{"str":"French","id":"Q150"},\
            "subject":"Danielle Darrieux"},"paraphrase_prompts":["Danielle Darrieux, a native",\
            "Danielle Darrieux spoke the language"],"neighborhood_prompts":["The mother tongue of Léon Blum is",\
            "The native language of Montesquieu is"],"attribute_prompts":["J. R. R. Tolkien is a native speaker of"],\
            "generation_prompts":["Danielle Darrieux's mother tongue is"]}""";

    private static final String REDUCED = """
            {"case_id":1,"prompt":"The official religion of Edwin of Northumbria is","target_new":"Islam",\
            "subject":"Edwin of Northumbria","ground_truth":"Christianity",\
            "rephrase_prompt":"Edwin of Northumbria is affiliated with the religion",\
            "locality_prompt":"The official religion of Paul is","locality_ground_truth":"Christianity"}""";

    /** ROME's known-facts record (known_1000.json): true facts for tracing, with no counterfactual target. */
    private static final String KNOWN_FACT = """
            {"known_id":0,"subject":"Vinson Massif","attribute":"Antarctica","template":"{} is located in the continent",\
            "prediction":" of Antarctica.","prompt":"Vinson Massif is located in the continent of","relation_id":"P30"}""";

    @Test
    void acceptsLocusFormWithTargetsStrippedAndModelsPassedThrough() {
        Accepted accepted = accepted(LOCUS);

        assertEquals(Format.LOCUS, accepted.format());
        assertEquals(new Fact("f1", "Anna Costa", "Anna Costa was born in", "Paris", "Rome",
                List.of("Anna Costa is originally from"),
                List.of(new Fact.Neighbor("Nils Weber was born in", "Paris")), "P19"), accepted.fact());
        assertEquals(List.of("gpt2-xl", "gpt-j-6b"), accepted.models());
    }

    @Test
    void minimalLocusFactIsForEveryModel() {
        Accepted accepted = accepted("""
                {"id":"f2","subject":"Oslo","prompt":"Oslo is the capital of","target_true":"Norway","target_new":"Peru"}""");

        assertEquals(new Fact("f2", "Oslo", "Oslo is the capital of", "Norway", "Peru", null, null, null), accepted.fact());
        assertEquals(List.of(), accepted.models());
    }

    @Test
    void normalisesCanonicalCounterFact() {
        Accepted accepted = accepted(CANONICAL);

        assertEquals(Format.COUNTERFACT, accepted.format());
        assertEquals(new Fact("cf-0", "Danielle Darrieux", "The mother tongue of Danielle Darrieux is", "French", "English",
                List.of("Danielle Darrieux, a native", "Danielle Darrieux spoke the language"),
                List.of(new Fact.Neighbor("The mother tongue of Léon Blum is", "French"),
                        new Fact.Neighbor("The native language of Montesquieu is", "French")),
                "P103"), accepted.fact());
        assertEquals(List.of(), accepted.models());
    }

    @Test
    void normalisesReducedCounterFact() {
        Accepted accepted = accepted(REDUCED);

        assertEquals(Format.COUNTERFACT_REDUCED, accepted.format());
        assertEquals(new Fact("cf-1", "Edwin of Northumbria", "The official religion of Edwin of Northumbria is",
                "Christianity", "Islam", List.of("Edwin of Northumbria is affiliated with the religion"),
                List.of(new Fact.Neighbor("The official religion of Paul is", "Christianity")), null), accepted.fact());
    }

    @Test
    void romeKnownFactIsTraceOnly() {
        Accepted accepted = accepted(KNOWN_FACT);

        assertEquals(Format.KNOWN, accepted.format());
        assertEquals(new Fact("known-0", "Vinson Massif", "Vinson Massif is located in the continent of", "Antarctica", null,
                null, null, "P30"), accepted.fact());
        assertTrue(accepted.fact().traceOnly());
        assertEquals(List.of("gpt2-xl"), accepted(KNOWN_FACT.replace("\"known_id\":0,", "\"known_id\":0,\"models\":[\"gpt2-xl\"],")).models());
    }

    @Test
    void counterFactModelsArePassedThrough() {
        String targeted = REDUCED.replace("\"case_id\":1,", "\"case_id\":1,\"models\":[\"gpt2-xl\"],");

        assertEquals(List.of("gpt2-xl"), accepted(targeted).models());
    }

    static Stream<Arguments> rejections() {
        String prompt2001 = "Oslo " + "x".repeat(1996);
        return Stream.of(
                Arguments.of(Reason.MESSAGE_TOO_LARGE,
                        utf8(LOCUS.replace("\"Anna Costa is originally from\"", "\"" + "y".repeat(64 * 1024) + "\"")),
                        "the limit is 65536"),
                Arguments.of(Reason.INVALID_UTF8, new byte[] {'{', '"', (byte) 0xC3, (byte) 0x28, '"', '}'},
                        "malformed UTF-8 at byte 2"),
                Arguments.of(Reason.INVALID_UTF8, new byte[] {'{', '"', 'a', (byte) 0xE2, (byte) 0x82}, "at byte 3"),
                Arguments.of(Reason.NOT_JSON, new byte[0], "empty message"),
                Arguments.of(Reason.NOT_JSON, null, "empty message"),
                Arguments.of(Reason.NOT_JSON, utf8("  \n "), "empty message"),
                Arguments.of(Reason.NOT_JSON, utf8("{\"id\": \"f1\", "), "line 1"),
                Arguments.of(Reason.NOT_JSON, utf8("subject: Oslo"), "Unrecognized token"),
                Arguments.of(Reason.NOT_JSON, utf8(LOCUS + " {}"), "Trailing token"),
                Arguments.of(Reason.NOT_JSON, utf8(LOCUS.replace("\"id\":\"f1\"", "\"id\":\"f1\",\"id\":\"f2\"")),
                        "Duplicate field 'id'"),
                Arguments.of(Reason.UNKNOWN_FORMAT, utf8("{\"subject\":\"Oslo\",\"prompt\":\"Oslo is in\"}"), "fields: subject, prompt"),
                Arguments.of(Reason.UNKNOWN_FORMAT, utf8("[" + LOCUS + "]"), "got array"),
                Arguments.of(Reason.UNKNOWN_FORMAT, utf8("42"), "got number"),
                Arguments.of(Reason.SCHEMA, utf8(LOCUS.replace("\"id\":\"f1\"", "\"id\":7")), "/id: integer found, string expected"),
                Arguments.of(Reason.SCHEMA, utf8(LOCUS.replace("\"target_new\":\" Rome\",", "")),
                        "required property 'target_new' not found"),
                Arguments.of(Reason.SCHEMA, utf8(LOCUS.replace("\"id\":\"f1\"", "\"id\":\"f1\",\"label\":\"x\"")),
                        "property 'label' is not defined"),
                Arguments.of(Reason.SCHEMA, utf8(LOCUS.replace("\"target\":\"Paris\"}", "\"target\":\"Paris\",\"weight\":1}")),
                        "/neighborhood_prompts/0: property 'weight' is not defined"),
                Arguments.of(Reason.SCHEMA, utf8(LOCUS.replace("\"id\":\"f1\"", "\"id\":\"" + "i".repeat(201) + "\"")),
                        "/id: must be at most 200 characters long"),
                Arguments.of(Reason.SCHEMA, utf8(LOCUS.replace("[\"gpt2-xl\",\"gpt-j-6b\"]", "[]")), "/models"),
                Arguments.of(Reason.SCHEMA, utf8(CANONICAL.replace("{\"str\":\"French\",\"id\":\"Q150\"}", "\"French\"")),
                        "/requested_rewrite/target_true: string found, object expected"),
                Arguments.of(Reason.SCHEMA, utf8(CANONICAL.replace("The mother tongue of {} is", "The mother tongue of X is")),
                        "/requested_rewrite/prompt: does not match the regex pattern"),
                Arguments.of(Reason.SCHEMA, utf8(CANONICAL.replace("\"case_id\":0", "\"case_id\":\"0\"")),
                        "/case_id: string found, integer expected"),
                Arguments.of(Reason.SCHEMA, utf8(REDUCED.replace(",\"locality_ground_truth\":\"Christianity\"", "")),
                        "required property 'locality_ground_truth' not found"),
                Arguments.of(Reason.SCHEMA, utf8(KNOWN_FACT.replace("\"attribute\":\"Antarctica\",", "")),
                        "as a known record: required property 'attribute' not found"),
                Arguments.of(Reason.SCHEMA, utf8(KNOWN_FACT.replace("\"subject\":\"Vinson Massif\",", "")),
                        "required property 'subject' not found"),
                Arguments.of(Reason.SCHEMA, utf8(KNOWN_FACT.replace(",\"prompt\":\"Vinson Massif is located in the continent of\"", "")),
                        "required property 'prompt' not found"),
                Arguments.of(Reason.SCHEMA, utf8(KNOWN_FACT.replace("\"known_id\":0", "\"known_id\":\"0\"")),
                        "/known_id: string found, integer expected"),
                // Locus's trace-only facts carry their marker, and then no counterfactual.
                Arguments.of(Reason.SCHEMA, utf8(LOCUS.replace("\"id\":\"f1\"", "\"id\":\"f1\",\"trace_only\":true")), "/target_new"),
                Arguments.of(Reason.SCHEMA, utf8(LOCUS.replace("\"id\":\"f1\"", "\"id\":\"f1\",\"trace_only\":false")), "/trace_only"),
                Arguments.of(Reason.SUBJECT_NOT_IN_PROMPT, utf8(LOCUS.replace("\"subject\":\"Anna Costa\"", "\"subject\":\"Anna Kosta\"")),
                        "subject \"Anna Kosta\" does not occur"),
                Arguments.of(Reason.SUBJECT_NOT_IN_PROMPT, utf8(REDUCED.replace("\"subject\":\"Edwin of Northumbria\"", "\"subject\":\"Edwin\u00a0of Northumbria\"")),
                        "does not occur"),
                Arguments.of(Reason.SUBJECT_NOT_IN_PROMPT, utf8(KNOWN_FACT.replace("\"subject\":\"Vinson Massif\"", "\"subject\":\"Mount Vinson\"")),
                        "subject \"Mount Vinson\" does not occur"),
                Arguments.of(Reason.EMPTY_TARGET, utf8(KNOWN_FACT.replace("\"attribute\":\"Antarctica\"", "\"attribute\":\" \"")),
                        "target_true is blank"),
                Arguments.of(Reason.EMPTY_TARGET, utf8(LOCUS.replace("\" Rome\"", "\"  \"")), "target_new is blank"),
                Arguments.of(Reason.EMPTY_TARGET, utf8(CANONICAL.replace("\"str\":\"French\"", "\"str\":\"\\t \"")), "target_true is blank"),
                Arguments.of(Reason.EMPTY_TARGET, utf8(REDUCED.replace("\"locality_ground_truth\":\"Christianity\"", "\"locality_ground_truth\":\" \"")),
                        "neighborhood_prompts[0].target is blank"),
                Arguments.of(Reason.PROMPT_TOO_LONG, utf8(LOCUS.replace("Anna Costa was born in", "Anna Costa " + "z".repeat(1990))),
                        "prompt has 2001 characters; the limit is 2000"),
                Arguments.of(Reason.PROMPT_TOO_LONG, utf8(LOCUS.replace("Anna Costa is originally from", prompt2001)),
                        "paraphrase_prompts[0] has 2001"),
                Arguments.of(Reason.PROMPT_TOO_LONG, utf8(CANONICAL.replace("The native language of Montesquieu is", prompt2001)),
                        "neighborhood_prompts[1].prompt has 2001"));
    }

    @ParameterizedTest(name = "{0}: {2}")
    @MethodSource("rejections")
    void rejectsWithReasonCode(String reason, byte[] raw, String messageFragment) {
        Rejected rejected = assertInstanceOf(Rejected.class, INTAKE.accept(raw));

        assertEquals(reason, rejected.reason(), rejected.message());
        assertTrue(rejected.message().contains(messageFragment), rejected.message());
    }

    @Test
    void promptLimitCountsCharactersNotBytes() {
        // 2,000 two-byte characters: at the limit, although 4,000 bytes long.
        String prompt = "Anna Costa " + "é".repeat(1989);
        assertEquals(Format.LOCUS, accepted(LOCUS.replace("Anna Costa was born in", prompt)).format());

        FactIntake strict = new FactIntake(new FactIntake.Limits(1024, 20));
        Rejected rejected = assertInstanceOf(Rejected.class, strict.accept(utf8(LOCUS)));
        assertEquals(Reason.PROMPT_TOO_LONG, rejected.reason());
    }

    @Test
    void normalisedFactsSerialiseToValidLocusJsonThatReadsBackTheSame() throws IOException {
        Schema factSchema = schema("fact.schema.json");
        for (String input : List.of(LOCUS, CANONICAL, REDUCED, KNOWN_FACT)) {
            Accepted accepted = accepted(input);
            String json = FactIntake.json(accepted.fact(), accepted.models());

            assertEquals(List.of(), factSchema.validate(MAPPER.readTree(json)), json);
            Accepted again = accepted(json);
            assertEquals(accepted.fact(), again.fact());
            assertEquals(accepted.models(), again.models());
            assertEquals(Format.LOCUS, again.format());
        }
        assertTrue(!FactIntake.json(accepted(REDUCED).fact()).contains("models"));
        assertTrue(!FactIntake.json(accepted(REDUCED).fact()).contains("trace_only"));
        assertTrue(FactIntake.json(accepted(KNOWN_FACT).fact()).contains("\"trace_only\":true"));
    }

    @Test
    void counterFactSchemaDescribesBothForms() throws IOException {
        Schema counterFactSchema = schema("counterfact.schema.json");

        assertEquals(List.of(), counterFactSchema.validate(MAPPER.readTree(CANONICAL)));
        assertEquals(List.of(), counterFactSchema.validate(MAPPER.readTree(REDUCED)));
        assertTrue(!counterFactSchema.validate(MAPPER.readTree(KNOWN_FACT)).isEmpty());
    }

    @Test
    void batchGivesOneResultPerNonBlankLineInOrder() {
        byte[] good = utf8(LOCUS);
        byte[] badUtf8 = {'{', (byte) 0xFF, '}'};
        byte[] body = concat(
                good, utf8("\n"),
                utf8("\r\n"),                       // blank line 2: skipped
                utf8("{\"id\":\n"),                 // line 3: not JSON
                badUtf8, utf8("\r\n"),              // line 4
                utf8(REDUCED), utf8("\r\n"),        // line 5
                utf8("{\"subject\":\"Oslo\"}\n"),      // line 6: unknown format
                utf8("   \n"),                      // blank line 7: skipped
                utf8(CANONICAL));                   // line 8, no final newline

        List<Result> results = INTAKE.acceptLines(body);

        assertEquals(6, results.size());
        assertEquals(Format.LOCUS, assertInstanceOf(Accepted.class, results.get(0)).format());
        assertRejected(results.get(1), Reason.NOT_JSON, "line 3: ");
        assertRejected(results.get(2), Reason.INVALID_UTF8, "line 4: ");
        assertEquals(Format.COUNTERFACT_REDUCED, assertInstanceOf(Accepted.class, results.get(3)).format());
        assertRejected(results.get(4), Reason.UNKNOWN_FORMAT, "line 6: ");
        assertEquals(Format.COUNTERFACT, assertInstanceOf(Accepted.class, results.get(5)).format());
        assertEquals(List.of(), INTAKE.acceptLines(utf8("\n\n")));
    }

    @Test
    void classpathSchemasAreCopiesOfTheCanonicalOnes() throws IOException {
        Path copies = Path.of("src", "main", "resources", "schemas");
        List<String> names = schemaNames(SCHEMAS);

        assertTrue(names.containsAll(List.of("counterfact.schema.json", "fact.schema.json")), names.toString());
        assertEquals(names, schemaNames(copies));
        for (String name : names) {
            byte[] canonical = Files.readAllBytes(SCHEMAS.resolve(name));
            assertArrayEquals(canonical, Files.readAllBytes(copies.resolve(name)), name + " drifted; copy schemas/ over");
            try (InputStream onClasspath = FactIntake.class.getResourceAsStream("/schemas/" + name)) {
                assertArrayEquals(canonical, onClasspath.readAllBytes(), name + " on the classpath is stale");
            }
        }
    }

    @Test
    void acceptsTheReducedCounterFactData() throws IOException {
        Path file = SharedFiles.require("data/counterfact-edit.json");
        Schema counterFactSchema = schema("counterfact.schema.json");

        JsonNode records = MAPPER.readTree(file.toFile());
        for (int i = 0; i < DATA_RECORDS; i++) {
            JsonNode record = records.get(i);
            assertEquals(List.of(), counterFactSchema.validate(record), "record " + i);
            Result result = INTAKE.accept(utf8(record.toString()));
            Accepted accepted = assertInstanceOf(Accepted.class, result, "record " + i + ": " + result);
            assertEquals(Format.COUNTERFACT_REDUCED, accepted.format());
            assertEquals("cf-" + record.get("case_id").asText(), accepted.fact().id());
            assertTrue(accepted.fact().prompt().contains(accepted.fact().subject()), accepted.fact().toString());
            assertEquals(accepted.fact(), accepted(FactIntake.json(accepted.fact())).fact());
        }
    }

    /**
     * known_1000.json is ROME's "known facts" set (known_id, subject, attribute, template, prediction, prompt, relation_id):
     * true facts for causal tracing, with no counterfactual target. Every record is a trace-only fact, whose Locus form
     * reads back the same.
     */
    @Test
    void acceptsRomeKnownFactsAsTraceOnly() throws IOException {
        Path file = SharedFiles.require("data/known_1000.json");
        Schema knownSchema = schema("known-fact.schema.json");

        JsonNode records = MAPPER.readTree(file.toFile());
        assertEquals(1209, records.size());
        for (JsonNode record : records) {
            assertEquals(List.of(), knownSchema.validate(record), record.toString());
            Accepted accepted = accepted(record.toString());
            assertEquals(Format.KNOWN, accepted.format());
            Fact fact = accepted.fact();
            assertEquals("known-" + record.get("known_id").asInt(), fact.id());
            assertEquals(record.get("attribute").asText().strip(), fact.targetTrue());
            assertEquals(record.get("prompt").asText(), fact.prompt());
            assertEquals(record.get("relation_id").asText(), fact.relationId());
            assertTrue(fact.traceOnly(), fact.toString());
            assertEquals(fact, accepted(FactIntake.json(fact)).fact());
        }
    }

    private static Accepted accepted(String json) {
        Result result = INTAKE.accept(utf8(json));
        return assertInstanceOf(Accepted.class, result, () -> result.toString());
    }

    private static void assertRejected(Result result, String reason, String messageFragment) {
        Rejected rejected = assertInstanceOf(Rejected.class, result);
        assertEquals(reason, rejected.reason(), rejected.message());
        assertTrue(rejected.message().contains(messageFragment), rejected.message());
    }

    /** A schema read from the canonical copy, independently of FactIntake's classpath loading. */
    private static Schema schema(String name) throws IOException {
        try (InputStream in = Files.newInputStream(SCHEMAS.resolve(name))) {
            return SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(in);
        }
    }

    private static List<String> schemaNames(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(file -> file.getFileName().toString()).filter(name -> name.endsWith(".json")).sorted().toList();
        }
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[]... parts) {
        int length = 0;
        for (byte[] part : parts) {
            length += part.length;
        }
        byte[] all = new byte[length];
        int at = 0;
        for (byte[] part : parts) {
            System.arraycopy(part, 0, all, at, part.length);
            at += part.length;
        }
        return all;
    }
}
