/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: "no-circular", severity: "error", comment: "Import cycles make each change harder: break them with a leaf module for the shared type.", from: {}, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "regional/tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
