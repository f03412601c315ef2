-- Quarto-style callouts (::: {.callout-note} ... :::) for plain pandoc.
-- HTML: a <div class="callout callout-note"> with a title line, styled by report.css.
-- Typst: a shaded block with a coloured left rule and a bold title.
-- The first header inside the callout, if any, becomes its title (as in Quarto).

local kinds = {
  note = { title = "Note", colour = "rgb(\"#0d6efd\")" },
  tip = { title = "Tip", colour = "rgb(\"#198754\")" },
  important = { title = "Important", colour = "rgb(\"#dc3545\")" },
  warning = { title = "Warning", colour = "rgb(\"#fd7e14\")" },
  caution = { title = "Caution", colour = "rgb(\"#ffc107\")" },
}

local function callout_kind(div)
  for _, class in ipairs(div.classes) do
    local kind = class:match("^callout%-(%a+)$")
    if kind and kinds[kind] then return kind end
  end
  return nil
end

function Div(div)
  local kind = callout_kind(div)
  if not kind then return nil end
  local title = div.attributes["title"] or kinds[kind].title
  local body = div.content
  if #body > 0 and body[1].t == "Header" then
    title = pandoc.utils.stringify(body[1].content)
    body = pandoc.List({ table.unpack(body, 2) })
  end
  if FORMAT:match("typst") then
    local open = string.format(
      "#block(width: 100%%, fill: luma(246), stroke: (left: 3pt + %s), inset: 9pt, radius: 2pt)[\n#text(weight: \"bold\", fill: %s)[%s]\n\n",
      kinds[kind].colour, kinds[kind].colour, title:gsub("[%[%]#]", "\\%0"))
    local blocks = pandoc.List({ pandoc.RawBlock("typst", open) })
    blocks:extend(body)
    blocks:insert(pandoc.RawBlock("typst", "]"))
    return blocks
  end
  local header = pandoc.Div({ pandoc.Plain({ pandoc.Strong({ pandoc.Str(title) }) }) },
    pandoc.Attr("", { "callout-title" }))
  local content = pandoc.List({ header })
  content:extend(body)
  return pandoc.Div(content, pandoc.Attr(div.identifier, { "callout", "callout-" .. kind }))
end
