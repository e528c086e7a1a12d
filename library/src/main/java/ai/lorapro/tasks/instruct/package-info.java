/**
 * Instruction tuning on Llama-2 (the paper's MetaMathQA, Code-Feedback and WizardLM runs): dataset
 * readers, the Alpaca prompt template, and prompt/response records with loss on the response.
 */
package ai.lorapro.tasks.instruct;
