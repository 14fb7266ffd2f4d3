package dev.locus.facts;

/** A fact that cannot be analysed as given; {@link #field()} names the field at fault. */
public class InvalidFactException extends IllegalArgumentException {
    private final String field;

    public InvalidFactException(String field, String message) {
        super(field + ": " + message);
        this.field = field;
    }

    public String field() {
        return field;
    }
}
