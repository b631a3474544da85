package org.m365trace.source;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.NoSuchElementException;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Streams the rows of one API page as normalized records, one at a time, whatever the reply shape:
 * RWS verbose ({@code {"d":{"results":[...],"__next":...}}}), RWS/Graph light ({@code {"value":[...],
 * "odata.nextLink"|"@odata.nextLink":...}}). The next link is known once every row has been read.
 * <p>
 * Each element is a record ({@code Map}) or, for a row that is a JSON object but cannot become a record, an
 * {@link UnusableRow}; a page that is not well-formed JSON of either shape fails with {@link MalformedPageException}.
 */
public final class TracePage implements Iterator<Object>, Closeable {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final JsonFactory FACTORY = MAPPER.getFactory();

    private final JsonParser parser;
    private final String api;
    private final String tenant;
    private final TraceDirection direction;
    private final boolean rawRows;
    private final URI requestUri;
    private String nextLink;
    private boolean inArray;
    private boolean sawArray;
    private boolean done;
    private int rows;
    private boolean failed;
    private final RowFields fields = new RowFields();      // each row's fields, read without a tree (reused)

    public TracePage(InputStream body, String api, String requestUri) {
        this(body, api, requestUri, null);
    }

    /** As above, each record with {@code "tenant": tenant} when a tenant is named (many tenants in one process). */
    public TracePage(InputStream body, String api, String requestUri, String tenant) {
        this(body, api, requestUri, tenant, TraceDirection.off(), false);
    }

    /**
     * As above; each record gains {@code "direction"} when {@code direction} is on (trace.localDomains), and with
     * {@code rawRows} it is a {@link Row} that keeps the row as the API served it (for sinks of schema raw).
     */
    public TracePage(InputStream body, String api, String requestUri, String tenant, TraceDirection direction, boolean rawRows) {
        this.api = api;
        this.tenant = tenant == null || tenant.isBlank() ? null : tenant.trim();
        this.direction = direction == null ? TraceDirection.off() : direction;
        this.rawRows = rawRows;
        this.requestUri = URI.create(requestUri);
        try {
            this.parser = FACTORY.createParser(body);
        } catch (IOException e) {
            throw new MalformedPageException("the page is not valid JSON: " + firstLine(e), e);
        }
        try {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw new MalformedPageException("the page is not a JSON object");
            }
        } catch (IOException | MalformedPageException e) {
            close();            // the reply's connection goes back to the pool
            throw e instanceof MalformedPageException m ? m : new MalformedPageException("the page is not valid JSON: " + firstLine(e), e);
        }
    }

    /** The next page to read, absolute (a relative link is resolved against the request), or null on the last page. */
    public String getNextLink() {
        if (!done) {
            throw new IllegalStateException("read every row before asking for the next link");
        }
        return nextLink == null || nextLink.isBlank() ? null : requestUri.resolve(nextLink).toString();
    }

    public int getRows() {
        return rows;
    }

    @Override
    public boolean hasNext() {
        if (failed) {
            return false; // reported once; the splitter may ask again while it cleans up
        }
        try {
            return advance();
        } catch (IOException e) {
            failed = true;
            close();
            throw unreadable(e);
        } catch (MalformedPageException e) {
            failed = true;
            close();
            throw e;
        }
    }

    /** The next record ({@code Map<String, Object>}) or {@link UnusableRow}. */
    @Override
    public Object next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        JsonNode row = null;            // the row's tree: only with rawRows, which keeps it
        try {
            if (rawRows) {
                row = MAPPER.readTree(parser);
            } else {
                fields.read(parser, MAPPER);
            }
            rows++;
        } catch (IOException e) {
            failed = true;
            close();
            throw unreadable(e);
        }
        try {
            Row record = (Row) (rawRows ? TraceRecords.normalize(row, api, new Row(raw(row)))
                    : TraceRecords.normalize(fields, api, new Row(null)));
            if (tenant != null) {
                record.put("tenant", tenant);
            }
            if (direction.enabled()) {
                record.put("direction", direction.of((String) record.get("senderAddress"), (String) record.get("recipientAddress")));
            }
            return record;
        } catch (MalformedPageException e) {
            return UnusableRow.of(row != null ? row : fields.toNode(MAPPER), e.getMessage());
        }
    }

    /** Moves to the start of the next row; returns false (and finishes the document) when there is none. */
    private boolean advance() throws IOException {
        if (done) {
            return false;
        }
        if (inArray) {
            JsonToken t = parser.currentToken() == JsonToken.START_OBJECT ? JsonToken.START_OBJECT : parser.nextToken();
            if (t == JsonToken.START_OBJECT) {
                return true;
            }
            if (t != JsonToken.END_ARRAY) {
                throw new MalformedPageException("a row of the page is not a JSON object");
            }
            inArray = false;
        }
        // walk the object fields until the rows array or the end of the document
        JsonToken t;
        while ((t = parser.nextToken()) != null) {
            if (t == JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                JsonToken value = parser.nextToken();
                switch (name) {
                    case "d" -> {
                        if (value != JsonToken.START_OBJECT) {
                            parser.skipChildren();
                        }
                    }
                    case "results", "value" -> {
                        if (value == JsonToken.START_ARRAY) {
                            inArray = true;
                            sawArray = true;
                            JsonToken first = parser.nextToken();
                            if (first == JsonToken.START_OBJECT) {
                                return true;
                            }
                            if (first != JsonToken.END_ARRAY) {
                                throw new MalformedPageException("a row of the page is not a JSON object");
                            }
                            inArray = false;
                        } else {
                            parser.skipChildren();
                        }
                    }
                    case "__next", "odata.nextLink", "@odata.nextLink" -> nextLink = value == JsonToken.VALUE_STRING ? parser.getText() : null;
                    case "error" -> throw new MalformedPageException("the page is an error reply: " + MAPPER.readTree(parser));
                    default -> parser.skipChildren();
                }
            }
        }
        done = true;
        close();
        if (!sawArray) {
            throw new MalformedPageException("the page has neither d.results nor value");
        }
        return false;
    }

    /** The raw document of a row: the row as served, plus {@code api} and, with a tenant, {@code tenant}. */
    private JsonNode raw(JsonNode row) {
        if (row instanceof ObjectNode object) {
            object.put("api", api);
            if (tenant != null) {
                object.put("tenant", tenant);
            }
        }
        return row;
    }

    /**
     * A record that keeps its row as the API served it ({@link #raw()}: the row plus {@code api} and {@code tenant},
     * with rawRows) and its JSON once written.
     * It is still the record's map: marshalled to JSON it is the normalized record, the row is not part of it.
     */
    public static final class Row extends LinkedHashMap<String, Object> {

        private final transient JsonNode raw;
        private transient String json;
        private transient String key;

        Row(JsonNode raw) {
            super(32);              // room for every field without a resize
            this.raw = raw;
        }

        /** The raw document: the row as served, plus {@code api} (and {@code tenant}); null without rawRows. */
        public JsonNode raw() {
            return raw;
        }

        /** The dedupe key ({@link TraceRecords#key}), made once: the dedupe and the commit of the page both ask. */
        String key() {
            if (key == null) {
                key = TraceRecords.keyOf(this);
            }
            return key;
        }

        /** The record's JSON, written once for every sink (the record is complete once it reaches the sinks). */
        public String json() {
            if (json == null) {
                json = TraceRecords.write(this);
            }
            return json;
        }
    }

    @Override
    public void close() {
        try {
            parser.close();
        } catch (IOException ignored) {
            // nothing was written
        }
    }

    /**
     * A page that cannot be read on: malformed JSON, or the connection failing while the page is parsed from it (a read
     * time-out, a reset), which is not the page's fault and is said so.
     */
    private RuntimeException unreadable(IOException e) {
        if (e instanceof com.fasterxml.jackson.core.JsonProcessingException) {
            return new MalformedPageException("the page is not valid JSON after " + rows + " rows: " + firstLine(e), e);
        }
        return new java.io.UncheckedIOException("reading the page failed after " + rows + " rows: " + firstLine(e), e);
    }

    private static String firstLine(Exception e) {
        String m = String.valueOf(e.getMessage());
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
