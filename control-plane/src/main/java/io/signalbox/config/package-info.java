/**
 * The operator's gateway settings: listeners, TLS certificates, JWT providers, default policies and
 * limits. Read from a YAML file, validated as a whole, and replaced atomically when the file (or a
 * file it names) changes. Settings are immutable values; the translator reads them, never the
 * files.
 */
package io.signalbox.config;
