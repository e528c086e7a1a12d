package ai.lorapro.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.lorapro.cli.LoraProCli;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * No network at run time: the command line switches DJL to offline mode with usage tracking off
 * before anything else, and no main source names a hub or URL or uses DJL's downloaders.
 */
class OfflineTest {

    /** The main sources of the library and the command line (the repository root comes from the build). */
    private static final Path ROOT = Path.of(System.getProperty("lorapro.root", ".."));
    private static final List<Path> MAIN_SOURCES = List.of(ROOT.resolve("library/src/main/java"),
            ROOT.resolve("cli/src/main/java"));
    /** String literals (kept, so "https://..." is not mistaken for a comment) or comments. */
    private static final Pattern LITERALS_OR_COMMENTS =
            Pattern.compile("\"(?:\\\\.|[^\"\\\\\\n])*\"|/\\*.*?\\*/|//[^\\n]*", Pattern.DOTALL);

    /** The code with comments and Javadoc replaced by a space. */
    static String withoutComments(String code) {
        Matcher m = LITERALS_OR_COMMENTS.matcher(code);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(out, Matcher.quoteReplacement(m.group().startsWith("\"") ? m.group() : " "));
        }
        m.appendTail(out);
        return out.toString();
    }

    /** Each main source file's code with comments and Javadoc removed. */
    private static List<String[]> mainSourcesWithoutComments() throws IOException {
        List<String[]> out = new ArrayList<>();
        for (Path sources : MAIN_SOURCES) {
            assertTrue(Files.isDirectory(sources), "no sources at " + sources.toAbsolutePath());
            try (Stream<Path> files = Files.walk(sources)) {
                for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".java"))::iterator) {
                    String code = withoutComments(Files.readString(f, StandardCharsets.UTF_8));
                    out.add(new String[] {f.toString(), code});
                }
            }
        }
        assertTrue(out.size() > 50, "only " + out.size() + " main sources found");
        return out;
    }

    @Test
    void theCommentFilterKeepsUrlsInStringsAndDropsThemInComments() {
        String code = "String a = \"https://huggingface.co/x\"; // see https://example.org\n/* http://a */ int b;";
        String kept = withoutComments(code);
        assertTrue(kept.contains("https://huggingface.co/x"), kept);
        assertTrue(!kept.contains("example.org") && !kept.contains("http://a"), kept);
    }

    @Test
    void noMainSourceNamesAHubOrAUrl() throws IOException {
        List<String> hits = new ArrayList<>();
        for (String[] source : mainSourcesWithoutComments()) {
            for (String needle : new String[] {"huggingface.co", "hf.co/", "http://", "https://"}) {
                if (source[1].contains(needle)) {
                    hits.add(source[0] + ": " + needle);
                }
            }
        }
        assertEquals(List.of(), hits);
    }

    @Test
    void noMainSourceUsesDjlDownloaders() throws IOException {
        List<String> hits = new ArrayList<>();
        // model zoo look-ups, repositories and downloads; a tokenizer made from a name resolves it on the hub
        Pattern downloaders = Pattern.compile("ModelZoo|Criteria\\.builder|DownloadUtils|Repository\\.newInstance"
                + "|HuggingFaceTokenizer\\.newInstance\\(\\s*\"|new\\s+URL\\(|HttpClient|openConnection");
        for (String[] source : mainSourcesWithoutComments()) {
            Matcher m = downloaders.matcher(source[1]);
            while (m.find()) {
                hits.add(source[0] + ": " + m.group());
            }
        }
        assertEquals(List.of(), hits);
    }

    @Test
    void cliMainConfiguresDjlOfflineBeforeAnythingElse() throws IOException {
        String code = withoutComments(Files.readString(
                ROOT.resolve("cli/src/main/java/ai/lorapro/cli/LoraProCli.java"), StandardCharsets.UTF_8));
        Matcher main = Pattern.compile("public static void main\\(String\\[\\] args\\)\\s*\\{\\s*([^;]+);").matcher(code);
        assertTrue(main.find(), "no main method");
        assertEquals("configureDjl()", main.group(1).strip(), "the first statement of main");

        String offline = System.getProperty("ai.djl.offline");
        String tracking = System.getProperty("OPT_OUT_TRACKING");
        try {
            System.clearProperty("ai.djl.offline");
            System.clearProperty("OPT_OUT_TRACKING");
            LoraProCli.configureDjl();
            assertEquals("true", System.getProperty("ai.djl.offline"));
            assertEquals("true", System.getProperty("OPT_OUT_TRACKING"));
            // and never overrides what the caller set
            System.setProperty("ai.djl.offline", "false");
            System.setProperty("OPT_OUT_TRACKING", "false");
            LoraProCli.configureDjl();
            assertEquals("false", System.getProperty("ai.djl.offline"));
            assertEquals("false", System.getProperty("OPT_OUT_TRACKING"));
        } finally {
            restore("ai.djl.offline", offline);
            restore("OPT_OUT_TRACKING", tracking);
        }
    }

    private static void restore(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
        }
    }
}
