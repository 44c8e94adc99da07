import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * A local stand-in for AWS Secrets Manager, speaking its JSON protocol as the real SDK
 * does (`POST /`, `X-Amz-Target: secretsmanager.GetSecretValue`,
 * `application/x-amz-json-1.1`), with version stages as rotation moves them, and switches
 * for throttling and outages. Tests point the SDK at it with SECRETS_MANAGER_ENDPOINT.
 */
export interface SecretsManagerServer {
  url: string;
  /** A new version that becomes AWSCURRENT; the one before becomes AWSPREVIOUS (as PutSecretValue does). */
  put(name: string, value: string): void;
  /** A new version staged as AWSPENDING only (a rotation's first step). */
  stagePending(name: string, value: string): void;
  /** The AWSPENDING version becomes AWSCURRENT, the current one AWSPREVIOUS (a rotation's last step). */
  finishRotation(name: string): void;
  /** The next `count` calls (every call, with `true`; none, with `false`) answer ThrottlingException. */
  throttle(count: number | boolean): void;
  /** While on, every connection is reset before it is answered: Secrets Manager unreachable. */
  outage(on: boolean): void;
  /** The secret's ARN, which references may use instead of its name. */
  arnOf(name: string): string;
  /** The GetSecretValue calls answered or refused so far, oldest first. */
  calls(): readonly SecretCall[];
  close(): Promise<void>;
}

export interface SecretCall {
  secretId: string;
  stage: string;
  /** Signed with SigV4, as the SDK signs: the request came through the real client. */
  signed: boolean;
  answer: "ok" | "not_found" | "throttled" | "reset";
}

interface Version {
  id: string;
  value: string;
  stages: Set<string>;
  created: number;
}

interface Secret {
  name: string;
  arn: string;
  versions: Version[];
}

export async function startSecretsManagerServer(): Promise<SecretsManagerServer> {
  const secrets = new Map<string, Secret>();
  const calls: SecretCall[] = [];
  const sockets = new Set<Socket>();
  let throttled: number | boolean = false;
  let down = false;

  const secretOf = (name: string): Secret => {
    let secret = secrets.get(name);
    if (!secret) {
      secret = { name, arn: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${name}-${randomUUID().slice(0, 6)}`, versions: [] };
      secrets.set(name, secret);
    }
    return secret;
  };
  const find = (secretId: string): Secret | undefined =>
    secrets.get(secretId) ?? [...secrets.values()].find((secret) => secret.arn === secretId);
  /** Moves a label to one version, as UpdateSecretVersionStage does. */
  const label = (secret: Secret, stage: string, to: Version | undefined): void => {
    for (const version of secret.versions) version.stages.delete(stage);
    to?.stages.add(stage);
  };
  const withStage = (secret: Secret, stage: string): Version | undefined => secret.versions.find((version) => version.stages.has(stage));
  const addVersion = (secret: Secret, value: string): Version => {
    const version: Version = { id: randomUUID(), value, stages: new Set(), created: Date.now() / 1000 };
    secret.versions.push(version);
    return version;
  };
  const promote = (secret: Secret, next: Version): void => {
    label(secret, "AWSPREVIOUS", withStage(secret, "AWSCURRENT"));
    label(secret, "AWSCURRENT", next);
    next.stages.delete("AWSPENDING");
  };

  const server = createServer((request, response) => void answer(request, response));
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const parts: Buffer[] = [];
    for await (const part of request) parts.push(part as Buffer);
    const target = request.headers["x-amz-target"];
    const body = parseBody(Buffer.concat(parts).toString("utf8"));
    const signed = /^AWS4-HMAC-SHA256 Credential=/.test(request.headers.authorization ?? "");
    const call = {
      secretId: typeof body.SecretId === "string" ? body.SecretId : "",
      stage: typeof body.VersionStage === "string" ? body.VersionStage : "AWSCURRENT",
      signed,
    };

    if (down) {
      calls.push({ ...call, answer: "reset" });
      request.socket.destroy();
      return;
    }
    if (
      request.method !== "POST" ||
      request.url !== "/" ||
      !String(request.headers["content-type"]).startsWith("application/x-amz-json-1.1")
    ) {
      return error(response, 404, "UnknownOperationException", "Not a Secrets Manager call.");
    }
    if (target !== "secretsmanager.GetSecretValue")
      return error(response, 400, "UnknownOperationException", `Unsupported operation ${String(target)}.`);
    if (throttled === true || (typeof throttled === "number" && throttled > 0)) {
      if (typeof throttled === "number") throttled -= 1;
      calls.push({ ...call, answer: "throttled" });
      return error(response, 400, "ThrottlingException", "Rate exceeded");
    }
    const secret = find(call.secretId);
    const version =
      secret &&
      (typeof body.VersionId === "string"
        ? secret.versions.find((candidate) => candidate.id === body.VersionId)
        : withStage(secret, call.stage));
    if (!secret || !version) {
      calls.push({ ...call, answer: "not_found" });
      const message = secret
        ? `Secrets Manager can't find the specified secret value for staging label: ${call.stage}`
        : "Secrets Manager can't find the specified secret.";
      return error(response, 400, "ResourceNotFoundException", message);
    }
    calls.push({ ...call, answer: "ok" });
    json(response, 200, {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.id,
      SecretString: version.value,
      VersionStages: [...version.stages],
      CreatedDate: version.created,
    });
  }

  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    put(name, value) {
      const secret = secretOf(name);
      promote(secret, addVersion(secret, value));
    },
    stagePending(name, value) {
      const secret = secretOf(name);
      label(secret, "AWSPENDING", addVersion(secret, value));
    },
    finishRotation(name) {
      const secret = secretOf(name);
      const pending = withStage(secret, "AWSPENDING");
      if (!pending) throw new Error(`${name} has no AWSPENDING version`);
      promote(secret, pending);
    },
    throttle(count) {
      throttled = count;
    },
    outage(on) {
      down = on;
    },
    arnOf: (name) => secretOf(name).arn,
    calls: () => calls,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

function parseBody(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === "object" ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    ...headers,
    "content-type": "application/x-amz-json-1.1",
    "content-length": Buffer.byteLength(text),
    "x-amzn-requestid": randomUUID(),
  });
  response.end(text);
}

/** AWS's JSON error shape: `__type` names the error, as the SDK reads it. */
function error(response: ServerResponse, status: number, type: string, message: string): void {
  json(response, status, { __type: type, message }, { "x-amzn-errortype": type });
}
