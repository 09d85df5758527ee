import type { ComponentChildren } from 'preact';

export interface TableProps {
  /** The headers of the columns, in order. */
  columns: readonly string[];
  /** Whether a last column holds buttons: its header is named for screen readers only. */
  actions?: boolean;
  /** The table's name, where no heading names it (`labelledBy`, that heading's id). */
  label?: string;
  labelledBy?: string;
  /** The rows. */
  children: ComponentChildren;
}

/** A table with one row of column headers over its rows. */
export function Table({ columns, actions, label, labelledBy, children }: TableProps) {
  return (
    <table aria-label={label} aria-labelledby={labelledBy}>
      <thead>
        <tr>
          {columns.map((column) => (
            <th scope="col">{column}</th>
          ))}
          {actions && (
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          )}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}
