package dev.locus.model;

/** A checkpoint could not be loaded; the message names the file or tensor at fault. */
public class ModelLoadException extends RuntimeException {
    public ModelLoadException(String message) {
        super(message);
    }

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
