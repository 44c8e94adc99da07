import { GatewayError } from "../../shared/error.ts";

/**
 * The JSON text of a request to a provider. Serialising can fail on what the client sent
 * (a structure too deep for the stack, a BigInt, a cycle); that becomes the client's 400,
 * never a raw exception that would be retried and counted against the provider.
 */
export function requestBody(body: unknown): string {
  try {
    return JSON.stringify(body);
  } catch (error) {
    throw new GatewayError("invalid_request", {
      message: "The request cannot be sent to the provider: its body cannot be serialised.",
      cause: error,
    });
  }
}
