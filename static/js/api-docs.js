// The interactive API docs: the vendored Swagger UI on Trainshed's own schema (no inline script: CSP).
window.ui = SwaggerUIBundle({
  url: JSON.parse(document.getElementById("openapi-url").textContent),
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
