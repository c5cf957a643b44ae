package io.signalbox.store;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Reading the fields of a stored lease's JSON: a field that must be there and is not is an error.
 */
final class JsonFields {

  private JsonFields() {}

  static <T> List<T> list(JsonNode array, Function<JsonNode, T> element) {
    List<T> items = new ArrayList<>();
    array.forEach(item -> items.add(element.apply(item)));
    return items;
  }

  static JsonNode required(JsonNode node, String field) {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      throw new IllegalArgumentException("field '" + field + "' is missing");
    }
    return value;
  }

  static String text(JsonNode node, String field) {
    return required(node, field).asText();
  }
}
