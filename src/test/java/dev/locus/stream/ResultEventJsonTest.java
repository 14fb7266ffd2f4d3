package dev.locus.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.editing.EditResult;
import dev.locus.study.Grid;
import dev.locus.study.ResultEvent;
import dev.locus.tracing.TraceJson;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The results' wire format: what the worker writes for a fixed example of every kind is exactly
 * what it wrote before {@link ResultEvent} could be read back, plus {@code model_version} (result ids
 * hash the grid's JSON, and the schemas describe these bytes), and a written event reads back as the
 * same event.
 */
class ResultEventJsonTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Written by the worker's plain ObjectMapper before ResultEvent had its type annotations (model_version, answer, relation_id and trace-only events added since). */
    private static final List<String> WRITTEN = """
            {"id":"00112233445566778899aabbccddeeff","type":"trace","model":"testbed","model_version":"v1","model_fingerprint":"fedcba9876543210","fact_id":"f-1","grid_id":"193a1e33a8a609de","grid":{"methods":["rome","memit"],"problems":["error_injection"],"layers":[0,4,8],"samples":10,"seed":1,"windows":{"hidden":1,"mlp":5,"attn":5},"noise_sigma":0.1376,"min_p_clean":0.02,"editing_config":"testbed","editing_fingerprint":"0123456789abcdef"},"trace":{"target":"Paris","tokens":["The"," Eiffel"],"subject_start":1,"subject_end":2,"traced_from":1,"p_clean":0.8,"p_corrupt":0.05,"noise_sigma":0.1376,"seed":1,"samples":10,"windows":{"hidden":1,"mlp":5,"attn":5},"restored":{"hidden":[[0.5,0.25],[0.125,0.75]],"mlp":[[0.1,0.2],[0.3,0.4]],"attn":[[0.0,1.0],["NaN",0.5]]},"localization":[0.3,0.6],"localization_last_subject_token":[0.2,0.4]},"answer":"Paris","relation_id":"P17","duration_ms":1234}
            {"id":"0123456789abcdef0123456789abcdef","type":"edit","model":"testbed","model_version":"v1","model_fingerprint":"fedcba9876543210","fact_id":"f-1","grid_id":"193a1e33a8a609de","grid":{"methods":["rome","memit"],"problems":["error_injection"],"layers":[0,4,8],"samples":10,"seed":1,"windows":{"hidden":1,"mlp":5,"attn":5},"noise_sigma":0.1376,"min_p_clean":0.02,"editing_config":"testbed","editing_fingerprint":"0123456789abcdef"},"edit":{"fact_id":"f-1","method":"rome","problem":"error_injection","layer":4,"edited_layers":[4],"target":"Rome","rewrite_pre":0.01,"rewrite_post":0.9,"paraphrase_pre":[0.02,0.03],"paraphrase_post":[0.8,0.7],"neighborhood_pre":[0.6],"neighborhood_post":[0.55],"rewrite_score":0.9,"paraphrase_score":0.75,"neighborhood_score":-0.125,"overall_score":0.5,"tracing_value":0.3125,"steps":20,"loss":0.05,"duration_ms":812,"status":"ok","error":null}}
            {"id":"ffeeddccbbaa99887766554433221100","type":"edit","model":"testbed","model_version":"v1","model_fingerprint":"fedcba9876543210","fact_id":"f-1","grid_id":"193a1e33a8a609de","grid":{"methods":["rome","memit"],"problems":["error_injection"],"layers":[0,4,8],"samples":10,"seed":1,"windows":{"hidden":1,"mlp":5,"attn":5},"noise_sigma":0.1376,"min_p_clean":0.02,"editing_config":"testbed","editing_fingerprint":"0123456789abcdef"},"edit":{"fact_id":"f-1","method":"memit","problem":"error_injection","layer":8,"edited_layers":[],"target":"Rome","rewrite_pre":0.01,"rewrite_post":"NaN","paraphrase_pre":[0.02],"paraphrase_post":[],"neighborhood_pre":[0.6],"neighborhood_post":[],"rewrite_score":"NaN","paraphrase_score":"NaN","neighborhood_score":"NaN","overall_score":"NaN","tracing_value":0.25,"steps":0,"loss":"NaN","duration_ms":7,"status":"failed","error":"IllegalStateException: boom"}}
            {"id":"aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb","type":"skipped","model":"testbed","model_version":"v1","model_fingerprint":"fedcba9876543210","fact_id":"f-2","grid_id":"193a1e33a8a609de","grid":{"methods":["rome","memit"],"problems":["error_injection"],"layers":[0,4,8],"samples":10,"seed":1,"windows":{"hidden":1,"mlp":5,"attn":5},"noise_sigma":0.1376,"min_p_clean":0.02,"editing_config":"testbed","editing_fingerprint":"0123456789abcdef"},"p_clean":0.004,"answer":"Rome","relation_id":"P17","reason":"p(target) 0.004 below 0.02","duration_ms":56}
            {"id":"1111111111111111aaaaaaaaaaaaaaaa","type":"trace","model":"testbed","model_version":"v1","model_fingerprint":"fedcba9876543210","fact_id":"known-0","grid_id":"193a1e33a8a609de","grid":{"methods":["rome","memit"],"problems":["error_injection"],"layers":[0,4,8],"samples":10,"seed":1,"windows":{"hidden":1,"mlp":5,"attn":5},"noise_sigma":0.1376,"min_p_clean":0.02,"editing_config":"testbed","editing_fingerprint":"0123456789abcdef"},"trace":{"target":"Paris","tokens":["The"," Eiffel"],"subject_start":1,"subject_end":2,"traced_from":1,"p_clean":0.8,"p_corrupt":0.05,"noise_sigma":0.1376,"seed":1,"samples":10,"windows":{"hidden":1,"mlp":5,"attn":5},"restored":{"hidden":[[0.5,0.25],[0.125,0.75]],"mlp":[[0.1,0.2],[0.3,0.4]],"attn":[[0.0,1.0],["NaN",0.5]]},"localization":[0.3,0.6],"localization_last_subject_token":[0.2,0.4]},"answer":"Paris","relation_id":"P17","duration_ms":1234,"trace_only":true}
            {"id":"2222222222222222bbbbbbbbbbbbbbbb","type":"skipped","model":"testbed","model_version":"v1","model_fingerprint":"fedcba9876543210","fact_id":"known-1","grid_id":"193a1e33a8a609de","grid":{"methods":["rome","memit"],"problems":["error_injection"],"layers":[0,4,8],"samples":10,"seed":1,"windows":{"hidden":1,"mlp":5,"attn":5},"noise_sigma":0.1376,"min_p_clean":0.02,"editing_config":"testbed","editing_fingerprint":"0123456789abcdef"},"p_clean":0.004,"answer":"Rome","relation_id":"P17","reason":"p(target) 0.004 below 0.02","duration_ms":56,"trace_only":true}
            """.lines().toList();

    @Test
    void writtenJsonIsUnchanged() throws Exception {
        List<ResultEvent> events = examples();
        for (int i = 0; i < events.size(); i++) {
            assertEquals(WRITTEN.get(i), JSON.writeValueAsString(events.get(i)));
        }
    }

    /** Arrays make record equality reference equality, so "equal" is: the same kind, written the same. */
    @Test
    void writtenEventsReadBackEqual() throws Exception {
        for (ResultEvent event : examples()) {
            String written = JSON.writeValueAsString(event);
            ResultEvent read = JSON.readValue(written, ResultEvent.class);
            assertInstanceOf(event.getClass(), read);
            assertEquals(written, JSON.writeValueAsString(read));
        }
    }

    /**
     * A trace (without its fact id: left out, not null), an ok edit, a failed edit (NaN scores), a skipped fact, and a trace-only
     * fact's trace and skipped events (marked trace_only).
     */
    static List<ResultEvent> examples() {
        Map<String, Integer> windows = new LinkedHashMap<>();
        windows.put("hidden", 1);
        windows.put("mlp", 5);
        windows.put("attn", 5);
        Grid grid = new Grid(List.of("rome", "memit"), List.of("error_injection"), new int[] {0, 4, 8}, 10, 1, windows, 0.1376, 0.02,
                "testbed", "0123456789abcdef");
        Map<String, double[][]> restored = new LinkedHashMap<>();
        restored.put("hidden", new double[][] {{0.5, 0.25}, {0.125, 0.75}});
        restored.put("mlp", new double[][] {{0.1, 0.2}, {0.3, 0.4}});
        restored.put("attn", new double[][] {{0.0, 1.0}, {Double.NaN, 0.5}});
        TraceJson trace = new TraceJson(null, "Paris", List.of("The", " Eiffel"), 1, 2, 1, 0.8, 0.05, 0.1376, 1, 10, windows, restored,
                new double[] {0.3, 0.6}, new double[] {0.2, 0.4});
        String model = "testbed";
        String version = "v1";
        String fingerprint = "fedcba9876543210";
        String gridId = grid.id();
        return List.of(
                new ResultEvent.Trace("00112233445566778899aabbccddeeff", "trace", model, version, fingerprint, "f-1", gridId, grid, trace, "Paris", "P17", 1234, null),
                new ResultEvent.Edit("0123456789abcdef0123456789abcdef", "edit", model, version, fingerprint, "f-1", gridId, grid,
                        new EditResult("f-1", "rome", "error_injection", 4, new int[] {4}, "Rome", 0.01, 0.9, List.of(0.02, 0.03),
                                List.of(0.8, 0.7), List.of(0.6), List.of(0.55), 0.9, 0.75, -0.125, 0.5, 0.3125, 20, 0.05, 812, "ok", null)),
                new ResultEvent.Edit("ffeeddccbbaa99887766554433221100", "edit", model, version, fingerprint, "f-1", gridId, grid,
                        new EditResult("f-1", "memit", "error_injection", 8, new int[0], "Rome", 0.01, Double.NaN, List.of(0.02),
                                List.of(), List.of(0.6), List.of(), Double.NaN, Double.NaN, Double.NaN, Double.NaN, 0.25, 0, Double.NaN, 7,
                                "failed", "IllegalStateException: boom")),
                new ResultEvent.Skipped("aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb", "skipped", model, version, fingerprint, "f-2", gridId, grid,
                        0.004, "Rome", "P17", "p(target) 0.004 below 0.02", 56, null),
                new ResultEvent.Trace("1111111111111111aaaaaaaaaaaaaaaa", "trace", model, version, fingerprint, "known-0", gridId, grid, trace, "Paris", "P17", 1234, true),
                new ResultEvent.Skipped("2222222222222222bbbbbbbbbbbbbbbb", "skipped", model, version, fingerprint, "known-1", gridId, grid,
                        0.004, "Rome", "P17", "p(target) 0.004 below 0.02", 56, true));
    }
}
