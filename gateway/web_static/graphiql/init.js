// GraphiQL for halo-gateway (after Strawberry's page, with local scripts). Send your token
// in the Headers tab: {"Authorization": "Bearer <token>"}; subscriptions use the same
// headers in graphql-ws's connection_init.
(function () {
  const EXAMPLE_QUERY = `# halo-gateway GraphiQL
#
# Put your token in the Headers tab below:
#   {"Authorization": "Bearer <token>"}
# (halo-gateway demo prints one.) Ctrl-Enter runs the query.

{
  viewer { sellerId roles }
  syncOverview {
    lastSyncToPlatform { relative }
    lastSyncToPsa { relative }
  }
}
`;
  const parameters = {};
  for (const entry of window.location.search.slice(1).split("&")) {
    const eq = entry.indexOf("=");
    if (eq >= 0) {
      parameters[decodeURIComponent(entry.slice(0, eq))] = decodeURIComponent(entry.slice(eq + 1));
    }
  }
  function updateURL(data) {
    Object.assign(parameters, data);
    const search = Object.keys(parameters)
      .filter((key) => Boolean(parameters[key]))
      .map((key) => encodeURIComponent(key) + "=" + encodeURIComponent(parameters[key]))
      .join("&");
    history.replaceState(null, "", "?" + search);
  }
  const url = window.location.href.split("?")[0].split("#")[0];
  const wsUrl = new URL(url);
  wsUrl.protocol = wsUrl.protocol === "https:" ? "wss:" : "ws:";
  const fetcher = GraphiQL.createFetcher({ url, subscriptionUrl: wsUrl.toString() });

  function Page() {
    const [query, setQuery] = React.useState(parameters.q || EXAMPLE_QUERY);
    const [variables, setVariables] = React.useState(parameters.variables);
    const explorer = React.useMemo(() => GraphiQLPluginExplorer.explorerPlugin(), []);
    return React.createElement(GraphiQL, {
      fetcher,
      defaultEditorToolsVisibility: true,
      plugins: [explorer],
      query,
      variables,
      onEditQuery: (q) => {
        setQuery(q);
        updateURL({ q });
      },
      onEditVariables: (v) => {
        setVariables(v);
        updateURL({ variables: v });
      },
      inputValueDeprecation: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
    });
  }
  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(Page));
})();
