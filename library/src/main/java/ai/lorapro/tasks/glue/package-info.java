/**
 * GLUE on T5 (the paper's natural-language-understanding experiments): the GLUE TSV and JSON-lines
 * readers, the T5 text-to-text format with label words, and exact-match accuracy of greedy
 * generations on the dev split.
 */
package ai.lorapro.tasks.glue;
