/**
 * The architecture rules, checked in `npm test` (`npm run typecheck`) over edge/, regional/
 * and shared/: the tiers never import each other, shared/ is pure (no runtime, no tier), no
 * import cycles (type-only imports count: they tangle the code as much), and inside each
 * tier the layers only point down. docs/architecture.md explains each.
 * @type {import('dependency-cruiser').IConfiguration}
 */
const layer = (name, from, to, comment) => ({ name, severity: "error", comment, from: { path: from }, to: { path: to } });

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "Import cycles make each change harder: put the shared type in a leaf module.",
      from: {},
      to: { circular: true },
    },
    layer("edge-not-regional", "^edge/", "^regional/", "The tiers talk only over HTTP, with the contract in shared/."),
    layer("regional-not-edge", "^regional/", "^edge/", "The tiers talk only over HTTP, with the contract in shared/."),
    layer("shared-not-tiers", "^shared/", "^(edge|regional)/", "shared/ is used by both tiers and uses neither."),
    {
      name: "shared-no-runtime",
      severity: "error",
      comment: "shared/ runs unchanged in Node and in workerd: Web-standard APIs only.",
      from: { path: "^shared/" },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "edge-no-node",
      severity: "error",
      comment: "The edge runs in workerd: no Node built-ins.",
      from: { path: "^edge/" },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "composition-root",
      severity: "error",
      comment: "Only main.ts wires the app; everything else takes what it needs (the types are in deps.ts).",
      from: { path: "^regional/", pathNot: "^regional/main\\.ts$" },
      to: { path: "^regional/(main|app)\\.ts$" },
    },
    layer(
      "providers-below-routing",
      "^regional/providers/",
      "^regional/(routing|routes|http|gpu|audit)/",
      "Adapters know nothing of routing, HTTP handling or the GPU API.",
    ),
    layer("resilience-below-routes", "^regional/routing/", "^regional/(routes|http)/", "Routing is called by routes, never the other way."),
    layer(
      "gpu-below-routes",
      "^regional/gpu/",
      "^regional/(routes|routing)/",
      "The GPU service is called by its route; resilience it takes from shared/ or the breakers registry.",
    ),
    layer(
      "edge-parts-below-middleware",
      "^edge/(cache|keys|limits|origins|durable-objects|metrics|status)/",
      "^edge/((middleware|routes)/|(app|index|context)\\.ts$)",
      "What the edge's middleware uses knows nothing of the pipeline or its Hono context: it is handed the piece it needs.",
    ),
    layer(
      "stores-below-http",
      "^regional/(db|auth|tenants|usage|secrets|budgets|pricing)/",
      "^regional/(routes|routing|http|gpu)/",
      "Stores and the database sit at the bottom.",
    ),
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "regional/tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
