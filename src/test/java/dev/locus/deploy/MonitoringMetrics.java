package dev.locus.deploy;

import java.util.Set;
import java.util.TreeSet;

/** The metric names the dashboard and the alert rules use, for service tests outside this package. */
public final class MonitoringMetrics {
    /** Exported only while the aggregator compares two versions, which the version-evaluation test checks against its service. */
    public static final String VERSION_COMPARISON_PREFIX = "locus_version_";

    private MonitoringMetrics() {}

    public static Set<String> used() {
        Set<String> out = new TreeSet<>();
        DeploymentFiles.dashboardQueries(DeploymentFiles.dashboard()).values().forEach(e -> out.addAll(DeploymentFiles.metricNames(e)));
        DeploymentFiles.ruleExpressions(DeploymentFiles.alertGroups()).values().forEach(e -> out.addAll(DeploymentFiles.metricNames(e)));
        return out;
    }

    /** The names in a Prometheus exposition that have samples. */
    public static Set<String> exported(String exposition) {
        return DeploymentFiles.exposedSampleNames(exposition);
    }
}
