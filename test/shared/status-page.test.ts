import { describe, expect, it } from "vitest";
import { renderPublicPage } from "../../shared/status/public-page.ts";
import type { PublicStatus } from "../../shared/status/types.ts";

describe("the status page renderer", () => {
  it("escapes every value, so a hostile name shows as text and never runs", () => {
    const hostile = `<script>alert("x")</script>`;
    const status: PublicStatus = {
      object: "status",
      generated_at: "2030-01-02T03:04:05.000Z",
      status: "down",
      components: [{ kind: "provider", name: hostile, status: "down", since: null, note: `"><img src=x>` }],
      incidents: [{ at: "2030-01-02T03:04:05.000Z", tier: "edge", kind: "failover", subject: hostile, reason: "'", region: null }],
    };
    const html = renderPublicPage(status);
    expect(html).not.toContain("<script>");
    expect(html).not.toContain("<img");
    expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(html).toContain(`<meta http-equiv="refresh" content="15">`);
    expect(html).not.toMatch(/(src|href)=["']?https?:/);
  });
});
