package dev.locus.study;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.locus.testbed.Testbed;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The service's study runs on the Llama testbed named as locus.model.dir names it, with its own facts' σ and corpus. */
class FactStudyRunnerTest {

    @Test
    void theLlamaTestbedByName() {
        StudySettings settings = new StudySettings(new StudySettings.Model(Path.of("testbed-llama"), null, "v1", "cpu"),
                new StudySettings.Edits(List.of("rome", "ft-1"), List.of("error_injection"), new int[] {1}),
                new StudySettings.Tracing(3, 1, Map.of(), Double.NaN, null, 0.02),
                new StudySettings.Editing("testbed", null, Path.of("target", "locus-cache")));
        List<ResultEvent> events = new ArrayList<>();
        try (FactStudyRunner runner = FactStudyRunner.open(settings, message -> {})) {
            assertEquals("testbed-llama", runner.modelName());
            assertEquals("llama", runner.model().dimensions().family());
            runner.run(Testbed.LLAMA.facts().get(100), events::add);
        }
        assertEquals(3, events.size(), "a trace and two edits");
        assertInstanceOf(ResultEvent.Trace.class, events.get(0));
        for (ResultEvent e : events) {
            assertEquals("testbed-llama", e.model());
            assertEquals("v1", e.modelVersion());
        }
        for (ResultEvent e : events.subList(1, 3)) {
            assertEquals("ok", ((ResultEvent.Edit) e).edit().status());
        }
    }
}
