// An esbuild plugin for the server's bundle: Node modules that dependencies require as they load
// but that a Berth server uses late or never (fastify requires http2 for a kind of server Berth
// does not start and dns for host names it does not listen on; commander requires child_process
// for subcommands Berth does not have) stand in as objects that require the module at their first
// use. http2 alone took several milliseconds of every start.
//
// Only plain `require`s of dependencies are replaced: Berth's own imports go through esbuild's
// interop, which lists a module's properties, and would load the module at once anyway.
const lazyModules = ['http2', 'dns', 'child_process'];

const filter = new RegExp(`^(node:)?(${lazyModules.join('|')})$`);
/** The namespace of the stand-ins, which prefixes their names in esbuild's metafile. */
export const namespace = 'lazy-builtin';

export const lazyBuiltins = {
  name: namespace,
  setup(build) {
    build.onResolve({ filter }, (args) => {
      if (args.namespace === namespace) return { path: args.path, external: true };
      if (!args.importer.includes('/node_modules/')) return undefined;
      return { path: args.path.replace(/^node:/, ''), namespace };
    });
    build.onLoad({ filter: /.*/, namespace }, (args) => ({ contents: standIn(args.path), loader: 'js' }));
  },
};

function standIn(name) {
  return `let loaded;
const load = () => (loaded ??= require("node:${name}"));
module.exports = new Proxy({}, {
  get: (_, key) => load()[key],
  set: (_, key, value) => Reflect.set(load(), key, value),
  has: (_, key) => key in load(),
  ownKeys: () => Reflect.ownKeys(load()),
  getOwnPropertyDescriptor: (_, key) => {
    const descriptor = Reflect.getOwnPropertyDescriptor(load(), key);
    // A proxy may not report a property that its (empty) target lacks as fixed.
    return descriptor && { ...descriptor, configurable: true };
  },
});
`;
}
