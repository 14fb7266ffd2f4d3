package dev.locus.model;

import ai.djl.ndarray.NDArray;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The interventions of one forward pass, by hook point, applied in the order they were added. */
public final class Hooks {
    private final Map<HookPoint, List<Intervention>> at = new HashMap<>();

    public static Hooks none() {
        return new Hooks();
    }

    public Hooks add(HookPoint point, Intervention intervention) {
        at.computeIfAbsent(point, p -> new ArrayList<>()).add(intervention);
        return this;
    }

    /** Adds every intervention of {@code other} after this one's. */
    public Hooks addAll(Hooks other) {
        other.at.forEach((point, list) -> list.forEach(i -> add(point, i)));
        return this;
    }

    /** Captures the activation at {@code point} and returns the capture to read after the pass. */
    public Intervention.Capture capture(HookPoint point) {
        Intervention.Capture c = new Intervention.Capture();
        add(point, c);
        return c;
    }

    NDArray apply(HookPoint point, NDArray activation) {
        List<Intervention> list = at.get(point);
        if (list == null) {
            return activation;
        }
        for (Intervention i : list) {
            activation = i.apply(activation);
        }
        return activation;
    }
}
