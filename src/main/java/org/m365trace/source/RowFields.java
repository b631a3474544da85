package org.m365trace.source;

import java.io.IOException;
import java.util.Arrays;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One row's fields read straight from the page's parser, for {@link TraceRecords#normalize}: a string value as its
 * String, any other value (a number, a boolean, null, an object) as its JsonNode. It holds what a JsonNode tree of the
 * row would, without building one per row (a map entry and a node per field); {@link #toNode()} builds it when a row
 * turns out unusable and is kept as served. One instance is reused for every row of a page.
 */
final class RowFields implements TraceRecords.Fields {

    private String[] names = new String[24];
    private Object[] values = new Object[24];
    private int size;

    /** Reads the object the parser is at (its START_OBJECT) up to its END_OBJECT. */
    RowFields read(JsonParser parser, ObjectMapper mapper) throws IOException {
        size = 0;
        JsonToken t;
        while ((t = parser.nextToken()) == JsonToken.FIELD_NAME) {
            String name = parser.currentName();
            JsonToken v = parser.nextToken();
            Object value = switch (v) {
                case VALUE_STRING -> parser.getText();
                // the nodes readTree makes for these, without a deserialization context per value
                case VALUE_NULL -> NullNode.getInstance();
                case VALUE_TRUE, VALUE_FALSE -> BooleanNode.valueOf(v == JsonToken.VALUE_TRUE);
                case VALUE_NUMBER_INT -> switch (parser.getNumberType()) {
                    case INT -> IntNode.valueOf(parser.getIntValue());
                    case LONG -> LongNode.valueOf(parser.getLongValue());
                    default -> mapper.readTree(parser);
                };
                default -> mapper.readTree(parser);     // an object, an array, a fraction
            };
            if (size == names.length) {
                names = Arrays.copyOf(names, size * 2);
                values = Arrays.copyOf(values, size * 2);
            }
            names[size] = name;
            values[size++] = value;
        }
        if (t != JsonToken.END_OBJECT) {
            throw new com.fasterxml.jackson.core.JsonParseException(parser, "a row ends without '}'");
        }
        return this;
    }

    /** The field's value (String or JsonNode), the last one when a name repeats, as a tree keeps it; null when absent. */
    @Override
    public Object value(String field) {
        for (int i = size - 1; i >= 0; i--) {
            if (field.equals(names[i])) {
                return values[i];
            }
        }
        return null;
    }

    /** The row as a JsonNode tree, as it was served. */
    ObjectNode toNode(ObjectMapper mapper) {
        ObjectNode node = mapper.createObjectNode();
        for (int i = 0; i < size; i++) {
            node.set(names[i], values[i] instanceof String s ? node.textNode(s) : (JsonNode) values[i]);
        }
        return node;
    }
}
