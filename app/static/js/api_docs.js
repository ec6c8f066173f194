// The API documentation page (/api/v1/docs): Swagger UI over the served OpenAPI description.
// A file of its own because the site's Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.ui = window.SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    domNode: root,
    deepLinking: true,
    persistAuthorization: false,
    // Never send the description to an outside validator (closed networks, no call-outs).
    validatorUrl: null,
  });
})();
