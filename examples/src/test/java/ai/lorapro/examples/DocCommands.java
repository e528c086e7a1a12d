package ai.lorapro.examples;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The shell commands of a Markdown document: every line of its {@code ```bash} blocks, with
 * backslash continuations joined, comments dropped and words split as a POSIX shell splits them
 * (single and double quotes, backslash escapes; no expansions).
 */
final class DocCommands {

    /** One command: the document, its line number and its words. */
    record Command(Path doc, int line, List<String> words) {
        @Override
        public String toString() {
            return doc.getFileName() + ":" + line + ": " + String.join(" ", words);
        }
    }

    private DocCommands() {}

    /** The commands of {@code doc}'s bash blocks, in order. */
    static List<Command> read(Path doc) throws IOException {
        List<String> lines = Files.readAllLines(doc, StandardCharsets.UTF_8);
        List<Command> commands = new ArrayList<>();
        boolean inBash = false;
        StringBuilder pending = new StringBuilder();
        int start = 0;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.strip().startsWith("```")) {
                inBash = !inBash && line.strip().equals("```bash");
                continue;
            }
            if (!inBash) {
                continue;
            }
            if (pending.length() == 0) {
                start = i + 1;
            }
            if (line.endsWith("\\")) {
                pending.append(line, 0, line.length() - 1).append(' ');
                continue;
            }
            pending.append(line);
            List<String> words = split(pending.toString());
            pending.setLength(0);
            if (!words.isEmpty()) {
                commands.add(new Command(doc, start, words));
            }
        }
        return commands;
    }

    /** Splits one command line into words; a {@code #} that starts a word starts a comment. */
    static List<String> split(String line) {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        boolean inWord = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (Character.isWhitespace(c)) {
                if (inWord) {
                    words.add(word.toString());
                    word.setLength(0);
                    inWord = false;
                }
            } else if (c == '#' && !inWord) {
                break;
            } else if (c == '\'') {
                int end = line.indexOf('\'', i + 1);
                if (end < 0) {
                    throw new IllegalArgumentException("unclosed ' in: " + line);
                }
                word.append(line, i + 1, end);
                i = end;
                inWord = true;
            } else if (c == '"') {
                int j = i + 1;
                for (; j < line.length() && line.charAt(j) != '"'; j++) {
                    if (line.charAt(j) == '\\' && j + 1 < line.length() && "\"\\$`".indexOf(line.charAt(j + 1)) >= 0) {
                        j++;
                    }
                    word.append(line.charAt(j));
                }
                if (j >= line.length()) {
                    throw new IllegalArgumentException("unclosed \" in: " + line);
                }
                i = j;
                inWord = true;
            } else if (c == '\\' && i + 1 < line.length()) {
                word.append(line.charAt(++i));
                inWord = true;
            } else {
                word.append(c);
                inWord = true;
            }
        }
        if (inWord) {
            words.add(word.toString());
        }
        return words;
    }
}
