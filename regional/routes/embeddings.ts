import { Hono } from "hono";
import { embeddingsRequest } from "../../shared/contract/embeddings.ts";
import type { AppDeps } from "../deps.ts";
import type { AppEnv } from "../http/context.ts";
import { readJson } from "../http/json-body.ts";
import { servedBy } from "../http/served-by.ts";
import { admitted } from "../admission/admitted.ts";
import { priorityHeader } from "../admission/priority.ts";
import { degradedBy } from "../routing/degradation.ts";
import { callContext } from "../routing/chat-attempts.ts";
import { consumptionOf } from "../pricing/cost.ts";

export function embeddingsRoute(deps: AppDeps): Hono<AppEnv> {
  return new Hono<AppEnv>().post("/embeddings", async (c) => {
    const request = await readJson(c, embeddingsRequest, deps.limits.maxBodyBytes, deps.limits.maxJsonDepth);
    const requestId = c.get("requestId");
    const mockFault = c.req.header("x-mock-fault");
    const trace = c.get("trace");
    const signal = c.req.raw.signal;
    const asker = { auth: c.get("auth"), askedPriority: c.req.header(priorityHeader), signal };
    const admission = await admitted(deps.admission, asker, request, async (asked) =>
      deps.router.run(
        asked.model,
        "embeddings",
        signal,
        async (target, scope) =>
          await target.provider.embeddings({ ...asked, model: target.model }, callContext(target, scope, { requestId, mockFault })),
        { trace },
      ),
    );
    admission.slot?.release();
    const served = admission.value;
    const model = `${served.provider}/${served.result.model || served.model}`;
    const billed = [{ provider: served.provider, model: served.model, used: consumptionOf(served.result.usage) }];
    c.get("usage")?.set({ model, usage: served.result.usage, billed });
    return c.json({ ...served.result, model }, 200, { ...servedBy(served), ...degradedBy(admission.degraded) });
  });
}
