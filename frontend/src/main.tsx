import { render } from "preact";
import "./styles.css";
import { App } from "./App";
import { installLinkInterceptor } from "./lib/router";

installLinkInterceptor();
render(<App />, document.getElementById("app")!);
