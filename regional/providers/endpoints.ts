import type { ForwardedEndpoint, ModelKind, Provider, RequestKind } from "./types.ts";

export interface EndpointSpec {
  /** Under the provider's base URL (which ends in `/v1`). */
  path: string;
  /** The kind of model that serves it. */
  kind: ModelKind;
  /** How error messages name it. */
  label: string;
}

/** The endpoints forwarded as they are, and the models that serve them. */
export const forwardedEndpoints: Record<ForwardedEndpoint, EndpointSpec> = {
  responses: { path: "/responses", kind: "chat", label: "the Responses API" },
  completions: { path: "/completions", kind: "completions", label: "completions" },
  images: { path: "/images/generations", kind: "images", label: "image generation" },
  transcription: { path: "/audio/transcriptions", kind: "transcription", label: "audio transcription" },
  speech: { path: "/audio/speech", kind: "speech", label: "speech" },
  moderation: { path: "/moderations", kind: "moderation", label: "moderations" },
};

const isForwarded = (kind: RequestKind): kind is ForwardedEndpoint => Object.hasOwn(forwardedEndpoints, kind);

/** The kind of model a request of `kind` needs. */
export const servingKind = (kind: RequestKind): ModelKind => (isForwarded(kind) ? forwardedEndpoints[kind].kind : kind);

export function labelOf(kind: RequestKind): string {
  if (isForwarded(kind)) return forwardedEndpoints[kind].label;
  return kind === "chat" ? "chat completions" : kind;
}

/** Whether the provider's adapter can make a request of `kind` at all (the Anthropic adapter forwards nothing). */
export const offers = (provider: Provider, kind: RequestKind): boolean => !isForwarded(kind) || (provider.offers?.(kind) ?? false);
