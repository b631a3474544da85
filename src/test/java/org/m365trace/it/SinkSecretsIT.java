package org.m365trace.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.Set;

import org.junit.jupiter.api.Test;

/**
 * The HTTP sink's Authorization header from {@code trace.http.authorizationFile}: taken as given (a value with "{{" and
 * "${" is no placeholder) and read again once the file is replaced, with no restart; neither value is logged.
 */
class SinkSecretsIT extends SimulatorTestSupport {

    static final String FIRST = "ApiKey a{{b}}c${d}";
    static final String SECOND = "ApiKey rotated-e{{f}}";
    Path authorization;

    @Override
    protected Properties settings() {
        api = Fixtures.simulator(3);
        authorization = tmp.resolve("authorization");
        Fixtures.unchecked(() -> Files.writeString(authorization, FIRST + "\n"));
        Properties p = withHttp(Fixtures.pipelineProperties(api, tmp));
        p.put("trace.http.authorizationFile", authorization.toString());
        return p;
    }

    @Test
    void the_header_comes_from_the_file_as_given_and_follows_its_rotation() throws Exception {
        await().atMost(Duration.ofSeconds(30)).until(() -> http.accepted().size() >= 2);
        assertEquals(Set.of(FIRST), Set.copyOf(http.accepted().stream().map(HttpReceiver.Post::authorization).toList()));

        Files.writeString(authorization, SECOND + "\n");
        int before = http.accepted().size();
        await().atMost(Duration.ofSeconds(30)).until(() -> http.accepted().size() > before + 1
                && SECOND.equals(http.accepted().get(http.accepted().size() - 1).authorization()));
        List<String> after = http.accepted().subList(before + 1, http.accepted().size()).stream()
                .map(HttpReceiver.Post::authorization).toList();
        assertEquals(Set.of(SECOND), Set.copyOf(after), "every batch after the rotation has the new value");
        String log = String.join("\n", logs.lines());
        assertFalse(log.contains("a{{b}}") || log.contains("rotated-e"), log);
        assertTrue(Sinks.files(out()).size() > 0);
    }
}
